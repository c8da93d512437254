"""Shared fixtures. Tests use ../shared/data when it is there (the real data) and the bundled sample
otherwise; the header of the pytest report says which."""
from __future__ import annotations

import os

import pytest

from fer_utils.data.io import SAMPLE_ROOT, resolve_root
from fer_utils.labels import ABAW_AUS
from tests.helpers import save_jpg, some_faces

ROOT, ORIGIN = resolve_root()
REAL = ROOT.resolve() != SAMPLE_ROOT.resolve()


def pytest_report_header(config):
    which = "REAL data" if REAL else "the BUNDLED SAMPLE (../shared/data not found)"
    return f"fer_utils data: {which} at {ROOT} (from {ORIGIN})"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Each test session gets its own loader cache so cache behaviour is tested from cold."""
    old = os.environ.get("FER_CACHE_DIR")
    os.environ["FER_CACHE_DIR"] = str(tmp_path_factory.mktemp("fer_cache"))
    yield
    if old is None:
        os.environ.pop("FER_CACHE_DIR", None)
    else:
        os.environ["FER_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def data_root():
    return ROOT


@pytest.fixture(scope="session")
def sample_root():
    return SAMPLE_ROOT


real_only = pytest.mark.skipif(not REAL, reason="needs the real data in ../shared/data")


EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"


# fixtures in the papers' real formats, written from real faces (test_data_formats, test_data_strict)

@pytest.fixture
def affwild2(tmp_path):
    """Two videos; video_a has 5 annotated frames but frame 4 has no image; frame 2 is invalid (-1)."""
    faces = some_faces(8)
    root = tmp_path / "affwild2"
    ann = root / "6th_ABAW_Annotations"
    expr = {"video_a": ["0", "-1", "4", "6", "7"], "video_b_left": ["1", "2", "3"]}
    au = {"video_a": ["1,0,0,0,0,0,1,0,0,0,1,0", "-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1", "0,1,0,0,0,0,0,0,0,0,0,1",
                      "0,0,0,0,0,0,0,0,0,0,0,0", "1,1,1,1,1,1,1,1,1,1,1,1"]}
    va = {"video_a": ["0.5,-0.25", "-5,-5", "1,1", "0,0", "-0.75,0.1"]}
    for task, table, header in [("EXPR_Classification_Challenge", expr, EXPR_HEADER),
                                ("AU_Detection_Challenge", au, ",".join(ABAW_AUS)),
                                ("VA_Estimation_Challenge", va, "valence,arousal")]:
        folder = ann / task / "Train_Set"
        folder.mkdir(parents=True)
        for video, rows in table.items():
            (folder / f"{video}.txt").write_text(header + "\n" + "\n".join(rows) + "\n")
    k = 0
    for video, rows in expr.items():
        for frame in range(1, len(rows) + 1):
            if video == "video_a" and frame == 4:
                continue
            save_jpg(faces[k], root / "cropped_aligned" / video / f"{frame:05d}.jpg")
            k += 1
    return root

@pytest.fixture
def rafdb(tmp_path):
    faces = some_faces(5)
    root = tmp_path / "basic"
    (root / "EmoLabel").mkdir(parents=True)
    rows = ["train_00001.jpg 1", "train_00002.jpg 7", "train_00003.jpg 4", "test_0001.jpg 6", "test_0002.jpg 2"]
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(rows) + "\n")
    for face, row in zip(faces, rows):
        if row.startswith("train_00003"):
            continue  # listed, image absent
        save_jpg(face, root / "Image" / "aligned" / row.split()[0].replace(".jpg", "_aligned.jpg"), size=100)
    return root

@pytest.fixture
def affectnet(tmp_path):
    faces = some_faces(6)
    root = tmp_path / "AffectNet"
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    header = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,"
              "valence,arousal")
    lm = '"1.0;2.0;3.0;4.0"'
    train = [f"689/a.jpg,10,10,100,100,{lm},1,0.8,0.3", f"689/b.jpg,0,0,80,80,{lm},8,-2,-2",
             f"690/c.jpg,5,5,90,90,{lm},7,-0.4,0.6", f"690/d.jpg,5,5,90,90,{lm},10,-2,-2",
             f"690/gone.jpg,5,5,90,90,{lm},2,-0.5,0.1"]
    valid = [f"700/e.jpg,1,1,50,50,{lm},6,-0.7,0.9", f"700/f.jpg,1,1,50,50,{lm},0,0.0,-2"]
    (lists / "training.csv").write_text(header + "\n" + "\n".join(train) + "\n")
    (lists / "validation.csv").write_text("\n".join(valid) + "\n")  # AffectNet's validation.csv has no header
    for face, row in zip(faces, train[:4] + valid):
        save_jpg(face, root / "Manually_Annotated_Images" / row.split(",")[0], size=120)
    return root
