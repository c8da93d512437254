"""CK+48 (the last three frames of each emotion-labelled CK+ sequence) joined with its FACS table.

Layout::

    ckplus/CK+48/<emotion>/S010_004_00000017.png      emotion folders: anger contempt disgust fear happy sadness surprise
    ckplus/ckplus_facs.csv                             subject,sequence,emotion,AU1,...,AU27 (one row per sequence)
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..labels import CKPLUS_CLASSES, canonical
from .io import cached, csv_rows, dataset_dir, parse_int, read_images
from .record import DataError, FaceData, Skip

FACS_AUS = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU11", "AU12", "AU14", "AU15", "AU16",
            "AU17", "AU18", "AU20", "AU21", "AU22", "AU23", "AU24", "AU25", "AU26", "AU27")
FACS_HEADER = ["subject", "sequence", "emotion", *FACS_AUS]
NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)\.png$")


def load_ckplus(root=None, *, cache: bool = True) -> FaceData:
    """Load CK+48: 981 images (48 x 48), 7 classes (CKPLUS_CLASSES), 118 subjects, 327 sequences.

    Returns FaceData with images, labels, subjects ('S010'), sequences ('S010_004'), names and
    aus (N, 23) int8 from ckplus_facs.csv (au_names = FACS_AUS). Images whose sequence has no FACS row
    are skipped and counted in ``.skipped``.
    """
    base, _ = dataset_dir(root, "ckplus", "CK+48")
    img_root = base / "CK+48"
    facs = base / "ckplus_facs.csv"
    files = [facs] if facs.is_file() else []
    folders = [img_root] + sorted(p for p in img_root.iterdir() if p.is_dir())
    return cached({"dataset": "ckplus", "split": "all"}, files, folders,
                  lambda: _build(img_root, facs), cache)


def _read_facs(facs: Path) -> dict[str, tuple[str, np.ndarray, int]]:
    """{sequence: (emotion, AUs, line)} from the FACS table."""
    table = {}
    for line, fields in csv_rows(facs, FACS_HEADER):
        if len(fields) != len(FACS_HEADER):
            raise DataError(f"{facs}:{line}: expected {len(FACS_HEADER)} fields, got {len(fields)}")
        seq = fields[1].strip()
        if seq in table:
            raise DataError(f"{facs}:{line}: sequence {seq} appears twice")
        emotion = canonical(fields[2])
        if emotion not in CKPLUS_CLASSES:
            raise DataError(f"{facs}:{line}: expected an emotion in {', '.join(CKPLUS_CLASSES)}, got {fields[2]!r}")
        aus = np.array([parse_int(x, facs, line, f"{au} (0 or 1)", 0, 1) for x, au in zip(fields[3:], FACS_AUS)],
                       dtype=np.int8)
        table[seq] = (emotion, aus, line)
    return table


def _build(img_root: Path, facs: Path) -> FaceData:
    if not facs.is_file():
        raise DataError(f"{facs}: file not found (the FACS table that gives every sequence's action units)")
    table = _read_facs(facs)
    paths, labels, names, subjects, sequences, aus, skipped = [], [], [], [], [], [], []
    for folder in sorted(img_root.iterdir()):
        if not folder.is_dir():
            skipped.append(Skip(str(folder), None, "not a class folder"))
            continue
        emotion = canonical(folder.name)
        if emotion not in CKPLUS_CLASSES:
            raise DataError(f"{folder}: unexpected class folder: expected one of "
                            f"anger, contempt, disgust, fear, happy, sadness, surprise")
        for path in sorted(folder.iterdir()):
            m = NAME.match(path.name)
            if not m:
                skipped.append(Skip(str(path), None, "not a CK+48 image (expected S010_004_00000017.png)"))
                continue
            subject, seq = m.group(1), f"{m.group(1)}_{m.group(2)}"
            if seq not in table:
                skipped.append(Skip(str(path), None, f"no FACS row: sequence {seq} is not in {facs.name}"))
                continue
            if table[seq][0] != emotion:
                raise DataError(f"{path}: folder says {emotion} but {facs.name} says {table[seq][0]} for {seq}")
            paths.append(path)
            labels.append(CKPLUS_CLASSES.index(emotion))
            names.append(path.name)
            subjects.append(subject)
            sequences.append(seq)
            aus.append(table[seq][1])
    for seq in sorted(set(table) - set(sequences)):   # a FACS row no image joins: counted and listed
        skipped.append(Skip(str(facs), table[seq][2], f"no images: sequence {seq} has no CK+48 image"))
    images = read_images(paths, expect=(48, 48))
    return FaceData(images=images, labels=np.array(labels, np.int64), names=np.array(names, dtype=str),
                    class_names=CKPLUS_CLASSES, dataset="ckplus", split="all", source=str(img_root),
                    subjects=np.array(subjects, dtype=str), sequences=np.array(sequences, dtype=str),
                    aus=np.stack(aus) if aus else np.zeros((0, len(FACS_AUS)), np.int8),
                    au_names=FACS_AUS, skipped=skipped)
