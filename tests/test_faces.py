"""Your own faces (fer_utils.faces): a class-folder tree or a votes CSV becomes a FER+ data root that every
FER+ task trains on, with its runs stored beside the data, never among the book's."""
import json

import numpy as np
import pytest
from PIL import Image

from fer_utils import faces as F
from fer_utils import runs as R
from fer_utils.data import DataError, load_ferplus
from fer_utils.experiments import runs_for
from fer_utils.labels import FERPLUS_CLASSES
from fer_utils.reproduce import main as reproduce

# folder name -> (FER+ class, grey level of its faces): synonyms and case are mapped by name
CLASSES = {"Happy": ("happiness", 200), "sad": ("sadness", 60), "NEUTRAL": ("neutral", 120), "angry": ("anger", 20)}


def _face(path, grey, size, mode):
    """A face file of any size and colour mode whose centre square is ``grey`` and whose border is not."""
    w, h = size
    a = np.full((h, w, 3), 255 - grey, np.uint8)
    s = min(w, h)
    top, left = (h - s) // 2, (w - s) // 2
    a[top:top + s, left:left + s] = grey
    im = Image.fromarray(a, "RGB")
    im = im.convert("P", palette=Image.ADAPTIVE) if mode == "P" else im.convert(mode) if mode != "RGB" else im
    im.save(path)


@pytest.fixture
def class_folders(tmp_path):
    src = tmp_path / "my_faces"
    shapes = [((64, 80), "RGB", ".jpg"), ((100, 100), "RGBA", ".png"), ((30, 30), "L", ".png"),
              ((120, 60), "P", ".bmp"), ((48, 48), "RGB", ".png")]
    for folder, (_, grey) in CLASSES.items():
        (src / folder).mkdir(parents=True)
        for i in range(10):
            size, mode, ext = shapes[i % len(shapes)]
            _face(src / folder / f"img{i}{ext}", grey, size, mode)
    (src / "sad" / "notes.txt").write_text("not a face")
    (src / "sad" / "broken.jpg").write_bytes(b"not an image")
    return src


def test_class_folders_become_a_ferplus_root_read_by_the_book_loader(class_folders, tmp_path):
    out = tmp_path / "my_data"
    m = F.import_faces(class_folders, out, valid=0.2, test=0.2, seed=0)
    assert m["faces"] == 40 and m["form"] == "class folders"
    assert m["class_mapping"] == {k: v[0] for k, v in CLASSES.items()}
    assert m["counts"]["train"] == {"neutral": 6, "happiness": 6, "sadness": 6, "anger": 6}
    assert m["counts"]["valid"] == m["counts"]["test"] == {"neutral": 2, "happiness": 2, "sadness": 2, "anger": 2}
    assert sorted(m["classes_without_faces"]) == sorted({"surprise", "disgust", "fear", "contempt"})
    assert len(m["skipped"]) == 2 and any("notes.txt" in s and "not an image" in s for s in m["skipped"]) \
        and any("broken.jpg" in s and "cannot decode" in s for s in m["skipped"])
    assert json.loads((out / F.MANIFEST).read_text()) == m
    seen = 0
    for split, n in (("train", 24), ("valid", 8), ("test", 8)):
        data = load_ferplus(split, out, cache=False)
        assert data.images.shape == (n, 48, 48) and data.images.dtype == np.uint8
        assert (data.votes.sum(1) == 10).all()                       # a hard label: all ten votes
        for img, c in zip(data.images, data.labels):                 # the centre square, whatever the shape
            grey = {v[0]: v[1] for v in CLASSES.values()}[FERPLUS_CLASSES[c]]
            close = np.abs(img.astype(int) - grey) <= 3                # JPEG rounds a little
            assert close.all()                                         # no border of the other grey kept
        seen += n
    assert seen == 40


def test_split_folders_are_kept(tmp_path):
    src = tmp_path / "split"
    for split, n in (("train", 3), ("val", 1), ("test", 2)):
        for cls in ("happy", "fearful"):
            (src / split / cls).mkdir(parents=True)
            for i in range(n):
                _face(src / split / cls / f"{i}.png", 90, (50, 50), "RGB")
    m = F.import_faces(src, tmp_path / "out")
    assert m["split"] == "given"
    assert {s: sum(c.values()) for s, c in m["counts"].items()} == {"train": 6, "valid": 2, "test": 4}
    assert m["counts"]["valid"] == {"happiness": 1, "fear": 1}


def test_votes_csv_keeps_the_votes(tmp_path):
    src = tmp_path / "csv"
    (src / "imgs").mkdir(parents=True)
    rows = ["image,Happy,sad,surprised,NF,split"]
    for i in range(6):
        _face(src / "imgs" / f"{i}.png", 10 * i, (60, 60), "RGB")
        rows.append(f"imgs/{i}.png,{i},{6 - i},1,0,{['train', 'valid', 'test'][i % 3]}")
    (src / "votes.csv").write_text("\n".join(rows) + "\n")
    F.import_faces(src / "votes.csv", tmp_path / "out")
    train = load_ferplus("train", tmp_path / "out", cache=False)
    cols = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"]
    np.testing.assert_array_equal(train.votes[:, [cols.index("happiness"), cols.index("sadness"),
                                                  cols.index("surprise")]], [[0, 6, 1], [3, 3, 1]])
    assert list(train.labels[:1]) == [FERPLUS_CLASSES.index("sadness")]


@pytest.mark.parametrize("header,row,message", [
    ("image,happy,joyful", "a.png,1,1", "column 'joyful' is not a class"),
    ("image,happy,sad", "a.png,0,0", "vote counts total 0: expected 1..10"),
    ("image,happy,sad", "a.png,7,5", "vote counts total 12"),
    ("image,happy,sad", "a.png,x,1", "happy = 'x': expected a vote count"),
    ("image,happy,sad", "../a.png,1,0", "leaves the CSV's folder"),
    ("image,happy,sad", "a.png,1", "expected 3 fields"),
    ("face,happy", "a.png,1", "expected a header starting with 'image'"),
    ("image,happy,split", "a.png,1,holdout", "split = 'holdout'"),
])
def test_bad_votes_csv_is_an_error_naming_file_and_line(tmp_path, header, row, message):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "v.csv").write_text(f"{header}\n{row}\n")
    with pytest.raises(DataError, match=message) as e:
        F.import_faces(tmp_path / "v.csv", tmp_path / "out")
    assert "v.csv:" in str(e.value)


def test_bad_folders_are_errors_naming_them(tmp_path, class_folders):
    (class_folders / "Smiling").mkdir()
    with pytest.raises(DataError, match=r"Smiling.*is not a class: expected one of neutral"):
        F.import_faces(class_folders, tmp_path / "out")
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "thesis.tex").write_text("x")
    with pytest.raises(DataError, match="occupied: exists and is not an earlier import"):
        F.import_faces(class_folders, tmp_path / "occupied")
    few = tmp_path / "few" / "happy"
    few.mkdir(parents=True)
    _face(few / "0.png", 10, (48, 48), "L")
    with pytest.raises(DataError, match="no faces for the valid split"):
        F.import_faces(tmp_path / "few", tmp_path / "out2")


def test_cli_reports_counts_and_skips(class_folders, tmp_path, capsys):
    assert F.main([str(class_folders), str(tmp_path / "d"), "--valid", "0.2", "--test", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "40 faces" in out and "Happy -> happiness" in out and "skipped 2 file(s)" in out
    assert F.main([str(tmp_path / "nowhere"), str(tmp_path / "d2")]) == 2
    assert "no such folder or CSV file" in capsys.readouterr().err


def test_a_chapter_method_trains_on_own_faces_and_stores_beside_them(class_folders, tmp_path, monkeypatch):
    """CCT (chapter 2's method) on imported faces: the cpu run list's config, shortened; the run folder lands
    in <root>/results (its key equals the book's FER+ run's), and provenance names the faces."""
    root = tmp_path / "my_data"
    m = F.import_faces(class_folders, root, valid=0.2, test=0.2)
    monkeypatch.setenv("FER_DATA_ROOT", str(root))
    assert R.default_results_dir("cpu") == root / "results"
    assert R.default_results_dir("smoke") != root / "results"
    config = next(c for c in runs_for("02_cct", "cpu") if c["name"] == "cct-single_annotator")
    config = {**config, "train": {**config["train"], "epochs": 2, "batch_size": 8, "steps_per_epoch": 3}}
    run = R.run_or_load(config, progress=False)
    assert run.dir.parent == root / "results" / "02_cct"
    assert len(run.history) == 2 and 0 <= run.final["macro_f1"] <= 1
    assert run.provenance["data"]["n_train"] == 24 and run.provenance["data"]["n_test"] == 8
    assert run.provenance["data"]["own_faces"]["fingerprint"] == m["fingerprint"]


def test_reproduce_data_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FER_DATA_ROOT", raising=False)
    assert reproduce(["notebooks/02_cct.ipynb", "--data", str(tmp_path / "none"), "--dry-run"]) == 2
    assert "--data" in capsys.readouterr().err
