"""AffectNet (manually annotated part), in its distributed layout::

    <root>/Manually_Annotated_file_lists/training.csv       (also validation.csv, which has no header line)
        subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal
    <root>/Manually_Annotated_Images/<subDirectory_filePath>

Expression 0..7 are Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt (AFFECTNET_CLASSES);
8 None, 9 Uncertain and 10 Non-Face are excluded and counted. Valence/arousal -2 (not annotated) become NaN.
"""
from __future__ import annotations

import numpy as np

from ..labels import AFFECTNET_CLASSES, AFFECTNET_EXCLUDED
from .io import csv_rows, parse_float, parse_int, read_images, resolve_root
from .record import DataError, FaceData, Skip, first_labelled_row, image_found, inside

HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
          "expression", "valence", "arousal"]
FILES = {"train": "training.csv", "valid": "validation.csv"}


def load_affectnet(split: str, root=None, *, size: int = 48) -> FaceData:
    """Load AffectNet ``split`` ("train" or "valid") as grayscale ``size`` x ``size`` faces with 8-class
    labels and valence/arousal (``.va``, NaN where not annotated). Classes 8-10 and absent images are
    skipped and counted in ``.skipped``."""
    if split not in FILES:
        raise DataError(f"split={split!r}: expected one of {', '.join(FILES)}")
    base, _ = resolve_root(root)
    candidates = [base / "Manually_Annotated_file_lists" / FILES[split], base / FILES[split]]
    csv_file = next((p for p in candidates if p.is_file()), None)
    if csv_file is None:
        raise DataError(f"{base}: no AffectNet list: expected {candidates[0]}")
    img_dir = base / "Manually_Annotated_Images"
    names, labels, va, paths, skipped, seen, rows = [], [], [], [], [], {}, 0
    for line, fields in csv_rows(csv_file):
        if line == 1 and fields[0].strip() == HEADER[0]:
            if [f.strip() for f in fields] != HEADER:
                raise DataError(f"{csv_file}:1: expected the header {','.join(HEADER)}")
            continue
        rows += 1
        if len(fields) != len(HEADER):
            raise DataError(f"{csv_file}:{line}: expected {len(HEADER)} fields ({','.join(HEADER)}), "
                            f"got {len(fields)}")
        expression = parse_int(fields[6], csv_file, line, "expression", 0, 10)
        if expression in AFFECTNET_EXCLUDED:
            skipped.append(Skip(str(csv_file), line, f"excluded class: {expression} ({AFFECTNET_EXCLUDED[expression]})"))
            continue
        v, a = (parse_float(fields[i], csv_file, line, w, -1.0, 1.0, allowed=(-2.0,))   # -2: not annotated
                for i, w in ((7, "valence"), (8, "arousal")))
        path = inside(img_dir / fields[0].strip(), img_dir, csv_file, line)
        if not first_labelled_row(seen, fields[0].strip(), (expression, v, a), csv_file, line, skipped):
            continue
        if not image_found(path, csv_file, line, skipped, f"{fields[0].strip()} is not in {img_dir.name}/"):
            continue
        names.append(fields[0].strip())
        labels.append(expression)
        va.append([np.nan if v == -2 else v, np.nan if a == -2 else a])
        paths.append(path)
    if rows == 0:
        raise DataError(f"{csv_file}: no data rows (the file is empty or holds only its header)")
    return FaceData(images=read_images(paths, size=size), labels=np.array(labels, np.int64),
                    names=np.array(names, dtype=str), va=np.array(va, np.float32).reshape(-1, 2),
                    class_names=AFFECTNET_CLASSES, dataset="affectnet", split=split, source=str(csv_file),
                    skipped=skipped)
