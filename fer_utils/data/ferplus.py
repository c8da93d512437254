"""FER+ (FER2013 images with 10 crowd votes each), from Microsoft's folder layout or from the Kaggle CSVs.

Folder layout (what Microsoft's ``generate_training_data.py`` writes)::

    ferplus/FER2013Train/fer0000000.png ... label.csv      (also FER2013Valid, FER2013Test)
    label.csv rows:  fer0000000.png,"(0, 0, 48, 48)",n0,...,n9

CSV form (what a user who downloaded FER2013 has)::

    fer2013.csv      emotion,pixels,Usage            (35,887 rows; 2304 space-separated pixels)
    fer2013new.csv   Usage,Image name,neutral,...,NF (the same rows; an empty name = dropped by FER+)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..labels import FERPLUS_CLASSES, FERPLUS_VOTE_COLUMNS, majority_labels
from .io import cached, csv_rows, dataset_dir, parse_int, read_images, resolve_root
from .med_codec import read_pack
from .record import DataError, FaceData, Skip, first_row, image_found

FOLDERS = {"train": "FER2013Train", "valid": "FER2013Valid", "test": "FER2013Test"}
USAGE = {"train": "Training", "valid": "PublicTest", "test": "PrivateTest"}
NEW_HEADER = ["Usage", "Image name", *FERPLUS_VOTE_COLUMNS]
KAGGLE_HEADER = ["emotion", "pixels", "Usage"]
ANNOTATORS = 10   # FER+ asked 10 crowd workers per image; each gave one vote (one row of FER+ train holds 9)


def votes_ok(votes: list[int], path: Path, line: int, skipped: list) -> bool:
    """A vote row holds at most one vote per annotator and at least one vote: 1..ANNOTATORS in all. A row
    outside (an all-zero row would otherwise read as 'neutral') is skipped, counted and listed with its line.
    FER+ train holds one row with 9 votes (fer0010406.png, one annotator's vote missing): it is kept."""
    total = sum(votes)
    if 1 <= total <= ANNOTATORS:
        return True
    skipped.append(Skip(str(path), line, f"vote counts total {total}: expected 1..{ANNOTATORS} "
                                         f"(one vote per annotator, {ANNOTATORS} annotators)"))
    return False


def _check_split(split: str) -> str:
    if split not in FOLDERS:
        raise DataError(f"split={split!r}: expected one of {', '.join(FOLDERS)}")
    return split


def _record(images, votes, names, split, source, skipped) -> FaceData:
    votes = np.asarray(votes, dtype=np.int64).reshape(-1, 10)
    return FaceData(images=images, labels=majority_labels(votes), names=np.asarray(names, dtype=str),
                    votes=votes, class_names=FERPLUS_CLASSES, dataset="ferplus", split=split,
                    source=str(source), skipped=skipped)


def _find_csvs(base: Path):
    for folder in (base / "ferplus", base):
        if (folder / "fer2013.csv").is_file() and (folder / "fer2013new.csv").is_file():
            return folder / "fer2013.csv", folder / "fer2013new.csv"
    return None


def _find_pack(base: Path):
    for folder in (base / "ferplus", base):
        if (folder / "ferplus.pack").is_file():
            return folder / "ferplus.pack"
    return None


def load_ferplus(split: str, root=None, *, source: str = "auto", cache: bool = True) -> FaceData:
    """Load one FER+ split: train (28,558 images), valid (3,579) or test (3,573) in the real data.

    root: the data root (holding ``ferplus/``) or the FER+ folder itself; default: $FER_DATA_ROOT,
    then ../shared/data, then the bundled sample. source: "folders" (Microsoft layout), "csv"
    (fer2013.csv + fer2013new.csv), "packed" (``ferplus.pack``, see fer_utils.data.pack) or "auto"
    (folders if present, else a pack, else the CSVs).
    Returns FaceData with images (N, 48, 48) uint8, votes (N, 10), labels (majority, -1 where
    unknown + NF outvote every emotion) and names (fer0000000.png ...).
    """
    _check_split(split)
    if source not in ("auto", "folders", "csv", "packed"):
        raise DataError(f"source={source!r}: expected 'auto', 'folders', 'csv' or 'packed'")
    base, _ = resolve_root(root)
    has_folders = any((p / FOLDERS[split] / "label.csv").is_file() for p in (base / "ferplus", base))
    pack = _find_pack(base)
    if source == "packed" or (source == "auto" and not has_folders and pack is not None):
        if pack is None:
            raise DataError(f"{base}: no FER+ pack: expected {base / 'ferplus' / 'ferplus.pack'}")
        return cached({"dataset": "ferplus", "split": split, "form": "packed"}, [pack], [],
                      lambda: _record(*read_pack(pack, split), split, pack, []), cache)
    if source == "csv" or (source == "auto" and not has_folders):
        found = _find_csvs(base)
        if found is None:
            raise DataError(f"{base}: no FER+ data: expected {base / 'ferplus' / FOLDERS[split] / 'label.csv'} "
                            f"or fer2013.csv with fer2013new.csv")
        return load_ferplus_csv(split, *found, cache=cache)
    folder, _ = dataset_dir(root, "ferplus", f"{FOLDERS[split]}/label.csv")
    folder = folder / FOLDERS[split]
    label_csv = folder / "label.csv"
    return cached({"dataset": "ferplus", "split": split, "form": "folders"}, [label_csv], [folder],
                  lambda: _build_from_folder(folder, split), cache)


def _build_from_folder(folder: Path, split: str) -> FaceData:
    label_csv = folder / "label.csv"
    names, votes, paths, skipped = [], [], [], []
    seen: dict[str, int] = {}
    for line, fields in csv_rows(label_csv):
        if len(fields) != 12:
            raise DataError(f"{label_csv}:{line}: expected 12 fields (image name, face box, 10 vote counts), "
                            f"got {len(fields)}")
        name = fields[0].strip()
        if not name.endswith(".png"):
            raise DataError(f"{label_csv}:{line}: expected an image name like fer0000000.png, got {name!r}")
        if not first_row(seen, name, label_csv, line, skipped):
            continue
        v = [parse_int(x, label_csv, line, f"vote count ({col})", 0, 10**6)
             for x, col in zip(fields[2:], FERPLUS_VOTE_COLUMNS)]
        if not votes_ok(v, label_csv, line, skipped):
            continue
        path = folder / name
        if not image_found(path, label_csv, line, skipped, f"{path.name} is not in {folder.name}/"):
            continue
        names.append(name)
        votes.append(v)
        paths.append(path)
    images = read_images(paths, expect=(48, 48))
    return _record(images, votes, names, split, folder, skipped)


def load_ferplus_csv(split: str, fer2013_csv, ferplus_csv, *, cache: bool = True) -> FaceData:
    """FER+ from the Kaggle ``fer2013.csv`` (pixels) joined row by row with ``fer2013new.csv`` (votes).

    Gives the same arrays as the folder layout for the same images. Rows FER+ dropped (empty image name)
    and later rows repeating an image name (fer2013new.csv names four images twice; label.csv keeps the
    first) are skipped and counted.
    """
    _check_split(split)
    fer2013_csv, ferplus_csv = Path(fer2013_csv), Path(ferplus_csv)
    return cached({"dataset": "ferplus", "split": split, "form": "csv"}, [fer2013_csv, ferplus_csv], [],
                  lambda: _build_from_csv(split, fer2013_csv, ferplus_csv), cache)


def _build_from_csv(split: str, fer2013_csv: Path, ferplus_csv: Path) -> FaceData:
    usage = USAGE[split]
    new_rows = list(csv_rows(ferplus_csv, NEW_HEADER))
    old_rows = list(csv_rows(fer2013_csv, KAGGLE_HEADER))
    if len(new_rows) != len(old_rows):
        raise DataError(f"{ferplus_csv} has {len(new_rows)} data rows but {fer2013_csv} has {len(old_rows)}: "
                        "expected one FER+ row per FER2013 row")
    names, votes, images, skipped = [], [], [], []
    seen: dict[str, int] = {}
    for (line, new), (old_line, old) in zip(new_rows, old_rows):
        if len(new) != 12:
            raise DataError(f"{ferplus_csv}:{line}: expected 12 fields (Usage, Image name, 10 vote counts), "
                            f"got {len(new)}")
        if len(old) != 3:
            raise DataError(f"{fer2013_csv}:{old_line}: expected 3 fields (emotion, pixels, Usage), got {len(old)}")
        if new[0].strip() != old[2].strip():
            raise DataError(f"{ferplus_csv}:{line}: Usage {new[0]!r} differs from {fer2013_csv}:{old_line} "
                            f"Usage {old[2]!r}: the two files must list the same rows in the same order")
        if new[0].strip() != usage:
            continue
        name = new[1].strip()
        if not name:
            skipped.append(Skip(str(ferplus_csv), line, "dropped by FER+: no image name (not a face)"))
            continue
        if not first_row(seen, name, ferplus_csv, line, skipped):
            continue
        v = [parse_int(x, ferplus_csv, line, f"vote count ({col})", 0, 10**6)
             for x, col in zip(new[2:], FERPLUS_VOTE_COLUMNS)]
        if not votes_ok(v, ferplus_csv, line, skipped):
            continue
        pixels = old[1].split()
        if len(pixels) != 48 * 48:
            raise DataError(f"{fer2013_csv}:{old_line}: expected 2304 space-separated pixel values, "
                            f"got {len(pixels)}")
        try:
            arr = np.array(pixels, dtype=np.int64)
        except ValueError:
            raise DataError(f"{fer2013_csv}:{old_line}: expected integer pixel values 0..255") from None
        if arr.min() < 0 or arr.max() > 255:
            raise DataError(f"{fer2013_csv}:{old_line}: expected pixel values in 0..255, "
                            f"got {arr.min()}..{arr.max()}")
        names.append(name)
        votes.append(v)
        images.append(arr.astype(np.uint8).reshape(48, 48))
    images = np.stack(images) if images else np.zeros((0, 48, 48), np.uint8)
    return _record(images, votes, names, split, fer2013_csv.parent, skipped)
