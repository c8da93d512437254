"""Aff-Wild2 as distributed for the ABAW challenges (the data papers 000, 001, 002 and 004 trained on).

Layout (ABAW3-6)::

    <root>/<...>/EXPR_Classification_Challenge/Train_Set/<video>.txt   (also Validation_Set)
        Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other    header, then one label per frame: 0..7, -1
    <root>/<...>/AU_Detection_Challenge/Train_Set/<video>.txt
        AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26         header, then 12 of 0/1 per frame, -1 invalid
    <root>/<...>/VA_Estimation_Challenge/Train_Set/<video>.txt
        valence,arousal                                                 header, then 2 numbers in [-1, 1], -5 invalid
    <root>/cropped_aligned/<video>/00001.jpg                            line k+1 of a file is frame k

Frames whose annotation is invalid are kept (EXPR: label -1, the unlabelled pool; AU: -1 row; VA: NaN);
frames with no image are skipped and counted.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..labels import ABAW_AUS, ABAW_CLASSES
from .io import parse_float, parse_int, read_images, resolve_root, text_lines
from .record import DataError, FaceData, image_found

TASKS = {
    "EXPR": ("EXPR_Classification_Challenge", ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness",
                                                "Surprise", "Other"]),
    "AU": ("AU_Detection_Challenge", list(ABAW_AUS)),
    "VA": ("VA_Estimation_Challenge", ["valence", "arousal"]),
}
SPLITS = {"train": "Train_Set", "valid": "Validation_Set"}


def find_challenge_dir(base: Path, challenge: str) -> Path:
    """``base/challenge`` or ``base/<any folder>/challenge`` (annotation archives differ in nesting)."""
    for path in [base / challenge, *sorted(base.glob(f"*/{challenge}")), *sorted(base.glob(f"*/*/{challenge}"))]:
        if path.is_dir():
            return path
    raise DataError(f"{base}: no {challenge} folder found (looked in {base} and two levels below)")


def _parse_line(task: str, text: str, path: Path, line: int):
    fields = text.strip().split(",")
    if task == "EXPR":
        if len(fields) != 1:
            raise DataError(f"{path}:{line}: expected one expression label, got {len(fields)} fields")
        return parse_int(fields[0], path, line, "expression label", 0, 7, allowed=(-1,))
    if task == "AU":
        if len(fields) != 12:
            raise DataError(f"{path}:{line}: expected 12 AU values, got {len(fields)}")
        return [parse_int(x, path, line, f"{au} (0, 1 or -1)", 0, 1, allowed=(-1,)) for x, au in zip(fields, ABAW_AUS)]
    if len(fields) != 2:
        raise DataError(f"{path}:{line}: expected valence,arousal, got {len(fields)} fields")
    va = [parse_float(x, path, line, what) for x, what in zip(fields, ("valence", "arousal"))]
    for x, what in zip(va, ("valence", "arousal")):
        if x != -5 and not -1 <= x <= 1:
            raise DataError(f"{path}:{line}: expected {what} in [-1, 1] or -5 (invalid), got {x}")
    return va


def load_abaw(task: str, split: str, root=None, *, size: int = 48, videos=None,
              images_dir: str = "cropped_aligned") -> FaceData:
    """Load one ABAW task ("EXPR", "AU" or "VA") and split ("train" or "valid") of Aff-Wild2.

    Images are read as grayscale and resized to ``size`` x ``size``. ``videos``: only these video names.
    Returns FaceData with names '<video>/<00001>', videos, frames (1-based) and, by task, labels (EXPR, in
    ABAW_CLASSES order, -1 invalid), aus (N, 12) with -1 invalid, or va (N, 2) with NaN invalid.
    """
    if task not in TASKS:
        raise DataError(f"task={task!r}: expected one of {', '.join(TASKS)}")
    if split not in SPLITS:
        raise DataError(f"split={split!r}: expected one of {', '.join(SPLITS)}")
    base, _ = resolve_root(root)
    challenge, header = TASKS[task]
    ann_dir = find_challenge_dir(base, challenge) / SPLITS[split]
    if not ann_dir.is_dir():
        raise DataError(f"{ann_dir}: folder not found (expected one annotation .txt per video)")
    img_root = base / images_dir
    if not img_root.is_dir():
        raise DataError(f"{img_root}: folder not found (expected {images_dir}/<video>/00001.jpg frames)")
    files = sorted(ann_dir.glob("*.txt"))
    if videos is not None:
        wanted = set(videos)
        files = [f for f in files if f.stem in wanted]
        missing = wanted - {f.stem for f in files}
        if missing:
            raise DataError(f"{ann_dir}: no annotation file for videos {sorted(missing)}")
    if not files:
        raise DataError(f"{ann_dir}: no .txt annotation files")
    values, paths, vids, frames, skipped = [], [], [], [], []
    for path in files:
        lines = text_lines(path)
        got = [h.strip() for h in lines[0].split(",")] if lines else []
        if got != header:
            raise DataError(f"{path}:1: expected the header {','.join(header)}, got {','.join(got)}")
        video = path.stem
        if not any(text.strip() for text in lines[1:]):
            raise DataError(f"{path}: no data rows (the file holds only its header)")
        for line, text in enumerate(lines[1:], start=2):
            if not text.strip():
                continue
            value = _parse_line(task, text, path, line)
            frame = line - 1
            img = img_root / video / f"{frame:05d}.jpg"
            if not image_found(img, path, line, skipped, f"{images_dir}/{video}/{frame:05d}.jpg"):
                continue
            values.append(value)
            paths.append(img)
            vids.append(video)
            frames.append(frame)
    n = len(paths)
    record = dict(images=read_images(paths, size=size), names=np.array([f"{v}/{f:05d}" for v, f in zip(vids, frames)],
                                                                        dtype=str),
                  videos=np.array(vids, dtype=str), frames=np.array(frames, np.int64), dataset="affwild2",
                  split=split, source=str(ann_dir), skipped=skipped)
    if task == "EXPR":
        return FaceData(labels=np.array(values, np.int64), class_names=ABAW_CLASSES, **record)
    empty = np.full(n, -1, np.int64)
    if task == "AU":
        aus = np.array(values, np.int8).reshape(n, 12)
        return FaceData(labels=empty, class_names=ABAW_CLASSES, aus=aus, au_names=ABAW_AUS, **record)
    va = np.array(values, np.float32).reshape(n, 2)
    va[va == -5] = np.nan
    return FaceData(labels=empty, class_names=ABAW_CLASSES, va=va, **record)
