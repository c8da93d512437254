import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_utils.data import DataError, load_ferplus, load_ferplus_csv
from fer_utils.data import io as data_io
from fer_utils.data.ferplus import FOLDERS
from tests.conftest import REAL, ROOT, real_only
from tests.helpers import write_ferplus_fixture

SIZES = {"train": 28558, "valid": 3579, "test": 3573} if REAL else {"train": 200, "valid": 58, "test": 58}


def pixel_digest(names, images) -> str:
    """The recipe of ../shared/data/PIXEL_DIGESTS.tsv: sha256 over (name, pixels) sorted by name."""
    h = hashlib.sha256()
    for i in np.argsort(names):
        h.update(names[i].encode())
        h.update(images[i].tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_split_sizes_shapes_and_api(split):
    d = load_ferplus(split)
    assert len(d) == SIZES[split]
    assert d.images.shape == (SIZES[split], 48, 48) and d.images.dtype == np.uint8
    assert d.votes.shape == (SIZES[split], 10)
    assert d.labels.shape == (SIZES[split],) and set(np.unique(d.labels)) <= set(range(-1, 8))
    assert d.names[0].startswith("fer") and d.names[0].endswith(".png")
    assert d.skipped == []


@real_only
@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_pixels_identical_to_the_pngs(split):
    """Loaded pixels hash to the digest published with the data (decoded PNG pixels, every image)."""
    table = dict(line.split("\t")[0::2] for line in (ROOT / "PIXEL_DIGESTS.tsv").read_text().splitlines()[1:])
    d = load_ferplus(split)
    assert pixel_digest(d.names, d.images) == table[f"ferplus/{FOLDERS[split]}"].strip()


def test_pixels_match_pil_decoding():
    d = load_ferplus("valid")
    folder = Path(d.source)
    for i in [0, len(d) // 2, len(d) - 1]:
        np.testing.assert_array_equal(d.images[i], np.asarray(Image.open(folder / d.names[i])))


@real_only
def test_majority_labels_match_the_published_counts():
    d = load_ferplus("train")
    assert d.class_counts() == {"neutral": 10292, "happiness": 7525, "surprise": 3557, "sadness": 3529,
                                "anger": 2460, "fear": 655, "disgust": 191, "contempt": 168}
    assert [(load_ferplus(s).labels < 0).sum() for s in ("train", "valid", "test")] == [181, 24, 28]


def test_csv_and_folder_forms_give_identical_arrays(tmp_path):
    folders, csv_dir = write_ferplus_fixture(ROOT, tmp_path)
    for split in ("train", "valid", "test"):
        a = load_ferplus(split, root=folders, cache=False)
        b = load_ferplus(split, root=csv_dir, cache=False)
        assert b.source == str(csv_dir)
        np.testing.assert_array_equal(a.images, b.images)
        np.testing.assert_array_equal(a.votes, b.votes)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.names, b.names)
        reasons = [s.reason for s in b.skipped]
        assert reasons.count("dropped by FER+: no image name (not a face)") == 1
        assert sum(r.startswith("duplicate row") for r in reasons) == (1 if split == "train" else 0)
        assert all(s.line is not None for s in b.skipped)


def test_csv_rejects_misaligned_files(tmp_path):
    _, csv_dir = write_ferplus_fixture(ROOT, tmp_path)
    old = (csv_dir / "fer2013.csv").read_text().splitlines()
    (csv_dir / "fer2013.csv").write_text("\n".join(old[:-1]) + "\n")
    with pytest.raises(DataError, match="one FER\\+ row per FER2013 row"):
        load_ferplus_csv("test", csv_dir / "fer2013.csv", csv_dir / "fer2013new.csv", cache=False)
    (csv_dir / "fer2013.csv").write_text("\n".join([old[0], old[1].replace(" ", " 7 ", 1)] + old[2:]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv:2: expected 2304 space-separated pixel values, got 2305"):
        load_ferplus_csv("train", csv_dir / "fer2013.csv", csv_dir / "fer2013new.csv", cache=False)
    first_pixel = old[1].split(",")[1].split()[0]
    (csv_dir / "fer2013.csv").write_text("\n".join(
        [old[0], old[1].replace("," + first_pixel + " ", ",300 ", 1)] + old[2:]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv:2: expected pixel values in 0..255, got 0?\d+..300"):
        load_ferplus_csv("train", csv_dir / "fer2013.csv", csv_dir / "fer2013new.csv", cache=False)


def test_cache_serves_identical_data_and_is_invalidated_by_a_change(tmp_path, monkeypatch):
    folders, _ = write_ferplus_fixture(ROOT, tmp_path)
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    first = load_ferplus("valid", root=folders)
    assert len(list((tmp_path / "cache").glob("ferplus-valid-*.npz"))) == 1
    calls = []
    real_build = __import__("fer_utils.data.ferplus", fromlist=["x"])._build_from_folder
    monkeypatch.setattr("fer_utils.data.ferplus._build_from_folder",
                        lambda *a: calls.append(1) or real_build(*a))
    second = load_ferplus("valid", root=folders)
    assert calls == []  # served from the cache
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.votes, second.votes)
    assert list(first.names) == list(second.names) and first.class_names == second.class_names
    # change the source: one vote of the first row
    label_csv = folders / "ferplus" / "FER2013Valid" / "label.csv"
    lines = label_csv.read_text().splitlines()
    fields = lines[0].split(",")
    fields[-10:] = ["0", "0", "0", "0", "0", "0", "0", "10", "0", "0"]
    lines[0] = ",".join(fields)
    label_csv.write_text("\n".join(lines) + "\n")
    os.utime(label_csv, ns=(1, 1))  # even with an old mtime the size/mtime signature changes
    third = load_ferplus("valid", root=folders)
    assert calls == [1]
    assert third.labels[0] == 7 and third.votes[0, 7] == 10


def test_bad_inputs_name_the_file_and_line(tmp_path):
    folders, _ = write_ferplus_fixture(ROOT, tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_ferplus("train", root=tmp_path / "nowhere")
    with pytest.raises(DataError, match="split='training'"):
        load_ferplus("training", root=folders)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no FER\\+ data"):
        load_ferplus("train", root=tmp_path / "empty")
    label_csv = folders / "ferplus" / "FER2013Test" / "label.csv"
    good = label_csv.read_text()
    lines = good.splitlines()
    label_csv.write_text("\n".join([lines[0], lines[1].rsplit(",", 3)[0]] + lines[2:]) + "\n")
    with pytest.raises(DataError, match=r"FER2013Test/label.csv:2: expected 12 fields"):
        load_ferplus("test", root=folders, cache=False)
    label_csv.write_text("\n".join([lines[0], lines[1][:-1] + "x"] + lines[2:]) + "\n")
    with pytest.raises(DataError, match=r"label.csv:2: expected an integer vote count \(NF\), got '0?x'"):
        load_ferplus("test", root=folders, cache=False)
    label_csv.write_text(good)
    first = lines[0].split(",")[0]
    (label_csv.parent / first).write_bytes(b"\x89PNG\r\n not really a png")
    with pytest.raises(DataError, match=f"{first}: cannot decode image"):
        load_ferplus("test", root=folders, cache=False)
    (label_csv.parent / first).unlink()
    d = load_ferplus("test", root=folders, cache=False)
    assert len(d) == len(lines) - 1
    assert [(s.line, s.reason.split(":")[0]) for s in d.skipped] == [(1, "missing image")]
    assert "skipped 1: missing image (1)" in d.summary()


def test_root_resolution_order(tmp_path, monkeypatch):
    folders, _ = write_ferplus_fixture(ROOT, tmp_path)
    monkeypatch.setenv("FER_DATA_ROOT", str(folders))
    assert data_io.resolve_root() == (folders, "FER_DATA_ROOT")
    assert data_io.resolve_root(tmp_path) == (tmp_path, "argument")
    assert len(load_ferplus("valid")) == 6
    monkeypatch.setenv("FER_DATA_ROOT", str(tmp_path / "missing"))
    with pytest.raises(DataError, match="FER_DATA_ROOT"):
        load_ferplus("valid")
    monkeypatch.delenv("FER_DATA_ROOT")
    monkeypatch.setattr(data_io, "shared_data_candidates", lambda: [tmp_path / "no_shared"])
    assert data_io.resolve_root() == (data_io.SAMPLE_ROOT, "sample")
    assert len(load_ferplus("valid")) == 58


def test_packed_form_gives_identical_arrays(tmp_path):
    from fer_utils.data.pack import decode_images, encode_images, pack_ferplus
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    np.testing.assert_array_equal(decode_images(encode_images(noise)), noise)  # lossless on any pixels
    folders, _ = write_ferplus_fixture(ROOT, tmp_path, per_split=20)
    pack = pack_ferplus(folders, tmp_path / "packed" / "ferplus" / "ferplus.pack")
    for split in ("train", "valid", "test"):
        a = load_ferplus(split, root=folders, cache=False)
        b = load_ferplus(split, root=tmp_path / "packed", cache=False)
        assert b.source == str(pack)
        np.testing.assert_array_equal(a.images, b.images)
        np.testing.assert_array_equal(a.votes, b.votes)
        np.testing.assert_array_equal(a.labels, b.labels)
        assert list(a.names) == list(b.names)
    pack.write_bytes(b"FERPACK1 broken")
    with pytest.raises(DataError, match="unreadable FER\\+ pack"):
        load_ferplus("test", root=tmp_path / "packed", cache=False)


def test_packed_file_split_into_parts_joins_back_byte_for_byte(tmp_path, capsys):
    from fer_utils.data import pack as P
    folders, _ = write_ferplus_fixture(ROOT, tmp_path, per_split=20)
    whole = P.pack_ferplus(folders, tmp_path / "whole" / "ferplus.pack").read_bytes()
    size = len(whole) // 3 + 1  # three parts, the last one shorter
    P.main(["--source", str(folders), "--out", str(tmp_path / "d"), "--part-mib", str(size / 2**20)])
    ferdir = tmp_path / "d" / "ferplus"
    n = 3
    parts = [ferdir / f"ferplus.pack.part-{i}-of-{n}" for i in range(1, n + 1)]
    assert sorted(ferdir.glob("ferplus.pack.part-*")) == parts and not (ferdir / "ferplus.pack").exists()
    assert all(p.stat().st_size <= size for p in parts) and f"in {n} file(s)" in capsys.readouterr().out
    # a missing part is named, and nothing is joined
    keep = parts[1].read_bytes()
    parts[1].unlink()
    with pytest.raises(FileNotFoundError, match=f"part-2-of-{n}"):
        P.join_pack(ferdir)
    parts[1].write_bytes(keep)
    # parts in the wrong order would not start with the header
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    for i, p in enumerate(parts):
        (swapped / f"ferplus.pack.part-{(i + 1) % n + 1}-of-{n}").write_bytes(p.read_bytes())
    with pytest.raises(ValueError, match="header"):
        P.join_pack(swapped)
    P.main(["--join", str(tmp_path / "d")])
    assert (ferdir / "ferplus.pack").read_bytes() == whole and not list(ferdir.glob("*.part-*"))
    a = load_ferplus("test", root=folders, cache=False)
    b = load_ferplus("test", root=tmp_path / "d", cache=False)
    np.testing.assert_array_equal(a.images, b.images)
    with pytest.raises(FileNotFoundError, match="no ferplus.pack.part"):
        P.join_pack(ferdir)
