"""Loaders of the papers' real formats, on tiny fixtures written in exactly those formats from real faces
(the fixtures ``affwild2``, ``rafdb`` and ``affectnet`` are in conftest.py)."""
import numpy as np
import pytest
from PIL import Image

from fer_utils.data import DataError, load_abaw, load_affectnet, load_rafdb
from fer_utils.labels import ABAW_AUS, ABAW_CLASSES, AFFECTNET_CLASSES, RAFDB_CLASSES

def test_abaw_expr(affwild2):
    d = load_abaw("EXPR", "train", affwild2)
    assert d.class_names == ABAW_CLASSES and d.images.shape == (7, 48, 48)
    assert list(d.videos) == ["video_a"] * 4 + ["video_b_left"] * 3
    assert list(d.frames) == [1, 2, 3, 5, 1, 2, 3]
    assert list(d.labels) == [0, -1, 4, 7, 1, 2, 3]  # the -1 frame is kept: the unlabelled pool
    assert d.names[3] == "video_a/00005"
    assert [(s.line, s.reason) for s in d.skipped] == [(5, "missing image: cropped_aligned/video_a/00004.jpg")]
    assert d.skipped[0].file.endswith("video_a.txt")
    only_b = load_abaw("EXPR", "train", affwild2, videos=["video_b_left"])
    assert len(only_b) == 3 and not only_b.skipped


def test_abaw_images_are_resized_grayscale(affwild2):
    d = load_abaw("EXPR", "train", affwild2, size=32)
    assert d.images.shape == (7, 32, 32)
    ref = np.asarray(Image.open(affwild2 / "cropped_aligned" / "video_a" / "00001.jpg").convert("L")
                     .resize((32, 32), Image.BILINEAR))
    np.testing.assert_array_equal(d.images[0], ref)


def test_abaw_au_and_va(affwild2):
    au = load_abaw("AU", "train", affwild2)
    assert au.aus.shape == (4, 12) and au.au_names == ABAW_AUS
    assert list(au.aus[0]) == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert (au.aus[1] == -1).all() and (au.labels == -1).all()
    va = load_abaw("VA", "train", affwild2)
    np.testing.assert_allclose(va.va[[0, 2, 3]], [[0.5, -0.25], [1, 1], [-0.75, 0.1]], rtol=1e-6)
    assert np.isnan(va.va[1]).all()
    assert len(va.skipped) == 1


def test_abaw_bad_inputs(affwild2):
    f = affwild2 / "6th_ABAW_Annotations" / "EXPR_Classification_Challenge" / "Train_Set" / "video_a.txt"
    good = f.read_text()
    f.write_text(good.replace("\n7\n", "\n8\n"))
    with pytest.raises(DataError, match=r"video_a.txt:6: expected expression label in 0..7 or -1, got 8"):
        load_abaw("EXPR", "train", affwild2)
    f.write_text(good.replace("Neutral,", "Neutral;"))
    with pytest.raises(DataError, match=r"video_a.txt:1: expected the header"):
        load_abaw("EXPR", "train", affwild2)
    f.write_text(good)
    with pytest.raises(DataError, match="task='EX'"):
        load_abaw("EX", "train", affwild2)
    with pytest.raises(DataError, match="Validation_Set: folder not found"):
        load_abaw("EXPR", "valid", affwild2)
    with pytest.raises(DataError, match="no annotation file for videos"):
        load_abaw("EXPR", "train", affwild2, videos=["nope"])
    va = affwild2 / "6th_ABAW_Annotations" / "VA_Estimation_Challenge" / "Train_Set" / "video_a.txt"
    va.write_text(va.read_text().replace("1,1", "1.5,1"))
    with pytest.raises(DataError, match=r"video_a.txt:4: expected valence in \[-1, 1\] or -5"):
        load_abaw("VA", "train", affwild2)


def test_rafdb(rafdb):
    d = load_rafdb("train", rafdb)
    assert [RAFDB_CLASSES[c] for c in d.labels] == ["surprise", "neutral"]
    assert list(d.names) == ["train_00001.jpg", "train_00002.jpg"] and d.images.shape == (2, 48, 48)
    assert [(s.line, s.reason.split(":")[0]) for s in d.skipped] == [(3, "missing image")]
    t = load_rafdb("test", rafdb)
    assert [RAFDB_CLASSES[c] for c in t.labels] == ["anger", "fear"] and not t.skipped
    label_file = rafdb / "EmoLabel" / "list_patition_label.txt"
    label_file.write_text(label_file.read_text().replace("test_0001.jpg 6", "test_0001.jpg 8"))
    with pytest.raises(DataError, match=r"list_patition_label.txt:4: expected label in 1..7, got 8"):
        load_rafdb("test", rafdb)


def test_affectnet(affectnet):
    d = load_affectnet("train", affectnet)
    assert [AFFECTNET_CLASSES[c] for c in d.labels] == ["happiness", "contempt"]
    np.testing.assert_allclose(d.va, [[0.8, 0.3], [-0.4, 0.6]], rtol=1e-6)
    reasons = [(s.line, s.reason) for s in d.skipped]
    assert reasons[:2] == [(3, "excluded class: 8 (none)"), (5, "excluded class: 10 (non-face)")]
    assert reasons[2][0] == 6 and reasons[2][1].startswith("missing image")
    v = load_affectnet("valid", affectnet)
    assert [AFFECTNET_CLASSES[c] for c in v.labels] == ["anger", "neutral"]
    assert v.va[1, 0] == 0 and np.isnan(v.va[1, 1])
    csv = affectnet / "Manually_Annotated_file_lists" / "validation.csv"
    csv.write_text(csv.read_text().replace(",6,-0.7", ",11,-0.7"))
    with pytest.raises(DataError, match=r"validation.csv:1: expected expression in 0..10, got 11"):
        load_affectnet("valid", affectnet)
    csv.write_text("700/e.jpg,1,1,50\n")
    with pytest.raises(DataError, match=r"validation.csv:1: expected 9 fields"):
        load_affectnet("valid", affectnet)
