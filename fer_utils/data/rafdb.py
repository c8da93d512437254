"""RAF-DB basic emotion set (7 classes), in its distributed layout::

    <root>/EmoLabel/list_patition_label.txt     lines "train_00001.jpg 5" / "test_0001.jpg 1", labels 1..7
    <root>/Image/aligned/train_00001_aligned.jpg

Labels 1..7 are Surprise, Fear, Disgust, Happiness, Sadness, Anger, Neutral (RAFDB_CLASSES, 0-based here).
"""
from __future__ import annotations

import numpy as np

from ..labels import RAFDB_CLASSES
from .io import parse_int, read_images, resolve_root, text_lines
from .record import DataError, FaceData, Skip, first_labelled_row, image_found

SPLITS = ("train", "test")   # a name starts with its split: train_00001.jpg, test_0001.jpg


def load_rafdb(split: str, root=None, *, size: int = 48) -> FaceData:
    """Load the RAF-DB basic ``split`` ("train": 12,271 images, "test": 3,068 in the real data),
    aligned faces as grayscale ``size`` x ``size``; images listed but absent, names of neither split and
    repeated rows are skipped and counted (a repeated name with another label is an error)."""
    if split not in SPLITS:
        raise DataError(f"split={split!r}: expected one of {', '.join(SPLITS)}")
    base, _ = resolve_root(root)
    candidates = [base / "EmoLabel" / "list_patition_label.txt", base / "list_patition_label.txt",
                  base / "basic" / "EmoLabel" / "list_patition_label.txt"]
    label_file = next((p for p in candidates if p.is_file()), None)
    if label_file is None:
        raise DataError(f"{base}: no RAF-DB label file: expected {candidates[0]}")
    img_dir = label_file.parent.parent / "Image" / "aligned"
    names, labels, paths, skipped, seen, rows = [], [], [], [], {}, 0
    for line, text in enumerate(text_lines(label_file), start=1):
        if not text.strip():
            continue
        rows += 1
        fields = text.split()
        if len(fields) != 2 or not fields[0].endswith(".jpg"):
            raise DataError(f"{label_file}:{line}: expected '<name>.jpg <label 1..7>', got {text!r}")
        name = fields[0]
        if not name.startswith(SPLITS):
            skipped.append(Skip(str(label_file), line, f"not a split's image: {name} starts with neither "
                                                       f"{' nor '.join(s + '_' for s in SPLITS)}"))
            continue
        if not name.startswith(split + "_"):
            continue
        label = parse_int(fields[1], label_file, line, "label", 1, 7)
        if not first_labelled_row(seen, name, label, label_file, line, skipped):
            continue
        path = img_dir / name.replace(".jpg", "_aligned.jpg")
        if not image_found(path, label_file, line, skipped, f"{path.name} is not in {img_dir.name}/"):
            continue
        names.append(name)
        labels.append(label - 1)
        paths.append(path)
    if rows == 0:
        raise DataError(f"{label_file}: no data rows (the file is empty)")
    return FaceData(images=read_images(paths, size=size), labels=np.array(labels, np.int64),
                    names=np.array(names, dtype=str), class_names=RAFDB_CLASSES, dataset="rafdb", split=split,
                    source=str(label_file), skipped=skipped)
