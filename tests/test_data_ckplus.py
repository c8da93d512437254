import hashlib
import shutil

import numpy as np
import pytest

from fer_utils.data import DataError, load_ckplus
from fer_utils.data.ckplus import FACS_AUS
from fer_utils.labels import CKPLUS_CLASSES
from tests.conftest import REAL, ROOT, real_only


def test_ckplus_record_fields():
    d = load_ckplus()
    n = 981 if REAL else 42
    assert d.images.shape == (n, 48, 48) and d.images.dtype == np.uint8
    assert d.class_names == CKPLUS_CLASSES
    assert d.aus.shape == (n, 23) and d.au_names == FACS_AUS
    assert all(seq.startswith(subj + "_") for subj, seq in zip(d.subjects, d.sequences))
    assert all(name.startswith(seq + "_") for seq, name in zip(d.sequences, d.names))
    # three apex frames per sequence, each sequence one label and one AU row
    _, per_seq = np.unique(d.sequences, return_counts=True)
    assert set(per_seq) == {3}
    for seq in np.unique(d.sequences)[:20]:
        rows = d.sequences == seq
        assert len(set(d.labels[rows])) == 1 and (d.aus[rows] == d.aus[rows][0]).all()


@real_only
def test_ckplus_counts_and_pixels_match_the_published_facts():
    d = load_ckplus()
    assert d.class_counts() == {"anger": 135, "contempt": 54, "disgust": 177, "fear": 75, "happiness": 207,
                                "sadness": 84, "surprise": 249}
    assert len(np.unique(d.subjects)) == 118 and len(np.unique(d.sequences)) == 327
    table = dict(line.split("\t")[0::2] for line in (ROOT / "PIXEL_DIGESTS.tsv").read_text().splitlines()[1:])
    folder = {"happiness": "happy"}
    for c, name in enumerate(CKPLUS_CLASSES):
        rows = np.flatnonzero(d.labels == c)
        h = hashlib.sha256()
        for i in rows[np.argsort(d.names[rows])]:
            h.update(d.names[i].encode())
            h.update(d.images[i].tobytes())
        assert h.hexdigest() == table[f"ckplus/CK+48/{folder.get(name, name)}"].strip()


@real_only
def test_ckplus_aus_joined_from_the_facs_table():
    d = load_ckplus()
    # ckplus_facs.csv: S005_001 disgust with AU9 and AU17; S010_002 surprise with AU1, AU2, AU5, AU25, AU27
    i = np.flatnonzero(d.sequences == "S005_001")[0]
    assert CKPLUS_CLASSES[d.labels[i]] == "disgust"
    assert [au for au, v in zip(FACS_AUS, d.aus[i]) if v] == ["AU9", "AU17"]
    i = np.flatnonzero(d.sequences == "S010_002")[0]
    assert [au for au, v in zip(FACS_AUS, d.aus[i]) if v] == ["AU1", "AU2", "AU5", "AU25", "AU27"]


def copy_ckplus(tmp_path):
    src = ROOT / "ckplus" if (ROOT / "ckplus").is_dir() else ROOT
    dst = tmp_path / "ckplus"
    shutil.copytree(src, dst)
    return dst


def test_ckplus_bad_inputs(tmp_path):
    dst = copy_ckplus(tmp_path)
    facs = dst / "ckplus_facs.csv"
    lines = facs.read_text().splitlines()
    # a sequence missing from the FACS table: its images are skipped and counted
    seq = lines[1].split(",")[1]
    facs.write_text("\n".join([lines[0]] + lines[2:]) + "\n")
    d = load_ckplus(tmp_path, cache=False)
    assert len(d.skipped) == 3 and all(f"sequence {seq}" in s.reason for s in d.skipped)
    # an AU value out of range names file and line
    bad = lines[1].rsplit(",", 1)[0] + ",2"
    facs.write_text("\n".join([lines[0], bad] + lines[2:]) + "\n")
    with pytest.raises(DataError, match=r"ckplus_facs.csv:2: expected AU27 \(0 or 1\) in 0..1, got 2"):
        load_ckplus(tmp_path, cache=False)
    # an emotion disagreeing with the folder
    fields = lines[1].split(",")
    fields[2] = "fear" if fields[2] != "fear" else "anger"
    facs.write_text("\n".join([lines[0], ",".join(fields)] + lines[2:]) + "\n")
    with pytest.raises(DataError, match=f"folder says .* but ckplus_facs.csv says {fields[2]} for {seq}"):
        load_ckplus(tmp_path, cache=False)
    facs.write_text("\n".join(lines) + "\n")
    (dst / "CK+48" / "neutral").mkdir()
    with pytest.raises(DataError, match="neutral: unexpected class folder"):
        load_ckplus(tmp_path, cache=False)
