"""Your own faces as a FER+ data root: every FER+ task (every chapter's method) then trains on them.

    python -m fer_utils.faces my_faces/ my_data             # one folder per class, or a CSV of votes
    export FER_DATA_ROOT=my_data                            # or: reproduce ... --data my_data
    python -m fer_utils.reproduce notebooks/02_cct.ipynb --profile cpu --only cct-single_annotator

Two source forms, faces already cropped, any image size or colour:

* **one folder per class**: ``my_faces/happy/*.jpg``, ``my_faces/Sad/*.png`` ... (class names are mapped by
  name, case-insensitive, with the usual synonyms: happy -> happiness, angry -> anger, ...; a class the
  source lacks simply has no faces). Optionally split already: ``my_faces/{train,valid,test}/<class>/``.
  Each face gets all 10 FER+ votes for its class (a hard label: "single-annotator" labels then equal it).
* **a CSV of per-image votes**: a header ``image,<class>,<class>,...`` (class columns by name, any subset of
  FER+'s ten: the eight emotions, ``unknown`` and ``NF``), one row per image, the image path relative to the
  CSV's folder, vote counts totalling 1..10 (FER+'s ten annotators); an optional ``split`` column
  (train / valid / test).

The faces are converted once (centre-cropped to a square, 48 x 48 grayscale, as FER2013's faces are) and
written in FER+'s own folder layout (``ferplus/FER2013{Train,Valid,Test}/label.csv`` and PNGs), so the
book's loaders read them exactly as they read FER+; nothing in a task changes and no stored run goes stale.
Without split folders or a split column the faces are split per class (seeded): ``valid`` and ``test``
shares, default 10% each. ``faces.json`` beside it records the source, the class mapping, the counts per
split and class, and every file skipped (unreadable images, with the reason).

Runs on an imported root are stored in ``<root>/results`` (``runs.default_results_dir``), never beside the
book's FER+ runs, whose run keys they share.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .data.ferplus import ANNOTATORS, FOLDERS
from .data.io import csv_rows
from .data.record import DataError
from .labels import FERPLUS_CLASSES, FERPLUS_VOTE_COLUMNS

MANIFEST = "faces.json"
SIZE = 48
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
SYNONYMS = {"happy": "happiness", "joy": "happiness", "surprised": "surprise", "sad": "sadness",
            "angry": "anger", "disgusted": "disgust", "fearful": "fear", "afraid": "fear", "scared": "fear",
            "contemptuous": "contempt", "neutrality": "neutral", "no_face": "NF", "noface": "NF", "nf": "NF"}
SPLIT_NAMES = {"train": "train", "training": "train", "valid": "valid", "val": "valid", "validation": "valid",
               "test": "test", "testing": "test"}


def class_column(name: str) -> str | None:
    """A FER+ vote column for a class or column name (case-insensitive, synonyms mapped), or None."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    key = SYNONYMS.get(key, key)
    for col in FERPLUS_VOTE_COLUMNS:
        if col.lower() == key.lower():
            return col
    return None


def _accepted() -> str:
    return ", ".join(FERPLUS_VOTE_COLUMNS) + f" (or {', '.join(sorted(SYNONYMS))})"


def face_image(path: Path) -> np.ndarray:
    """One face file -> (48, 48) uint8 grayscale: centre-cropped to a square, then resized (area filter)."""
    with Image.open(path) as im:
        im.load()
        im = im.convert("L")
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        if im.size != (SIZE, SIZE):
            im = im.resize((SIZE, SIZE), Image.BOX if s > SIZE else Image.BICUBIC)
        return np.asarray(im, dtype=np.uint8).copy()


def _from_folders(src: Path) -> tuple[list[tuple[Path, list[int], str | None]], dict, list[str]]:
    """(image, votes, split or None) per file of a class-folder tree; the class mapping; skipped files."""
    subdirs = sorted(d for d in src.iterdir() if d.is_dir() and not d.name.startswith("."))
    split_dirs = [d for d in subdirs if d.name.lower() in SPLIT_NAMES]
    if split_dirs and len(split_dirs) != len(subdirs):
        raise DataError(f"{src}: mixes split folders ({', '.join(d.name for d in split_dirs)}) with other folders "
                        f"({', '.join(d.name for d in subdirs if d not in split_dirs)}): expected either "
                        f"train/valid/test folders holding class folders, or class folders only")
    groups = [(d, SPLIT_NAMES[d.name.lower()]) for d in split_dirs] if split_dirs else [(src, None)]
    items, mapping, skipped = [], {}, []
    for base, split in groups:
        for d in sorted(x for x in base.iterdir() if not x.name.startswith(".")):
            if not d.is_dir():
                skipped.append(f"{d}: a file where class folders are expected")
                continue
            col = class_column(d.name)
            if col is None:
                raise DataError(f"{d}: folder name {d.name!r} is not a class: expected one of {_accepted()}")
            mapping[d.name] = col
            votes = [ANNOTATORS if c == col else 0 for c in FERPLUS_VOTE_COLUMNS]
            for f in sorted(d.rglob("*")):
                if f.is_dir() or f.name.startswith("."):
                    continue
                if f.suffix.lower() not in IMAGE_SUFFIXES:
                    skipped.append(f"{f}: not an image file (suffix {f.suffix or 'none'})")
                    continue
                items.append((f, votes, split))
    if not mapping:
        raise DataError(f"{src}: no class folders: expected folders named {_accepted()}")
    return items, mapping, skipped


def _from_csv(path: Path) -> tuple[list[tuple[Path, list[int], str | None]], dict, list[str]]:
    """(image, votes, split or None) per row of a votes CSV (see the module docstring)."""
    rows = csv_rows(path)
    _, header = next(rows, (None, None))
    header = [h.strip() for h in header]
    if not header or header[0].lower() not in ("image", "path", "file"):
        raise DataError(f"{path}:1: expected a header starting with 'image' (then class columns), got "
                        f"{','.join(header)}")
    mapping, cols, split_at = {}, {}, None
    for i, name in enumerate(header[1:], start=1):
        if name.lower() == "split":
            split_at = i
            continue
        col = class_column(name)
        if col is None:
            raise DataError(f"{path}:1: column {name!r} is not a class: expected one of {_accepted()} or 'split'")
        if col in cols.values():
            raise DataError(f"{path}:1: column {name!r} repeats class {col!r}")
        mapping[name], cols[i] = col, col
    if not cols:
        raise DataError(f"{path}:1: no class columns: expected some of {_accepted()}")
    items, seen = [], {}
    for line, fields in rows:
        if len(fields) != len(header):
            raise DataError(f"{path}:{line}: expected {len(header)} fields ({','.join(header)}), got {len(fields)}")
        name = fields[0].strip()
        if name in seen:
            raise DataError(f"{path}:{line}: image {name!r} is listed again (first on line {seen[name]})")
        seen[name] = line
        image = (path.parent / name).resolve()
        if not image.is_relative_to(path.parent.resolve()):
            raise DataError(f"{path}:{line}: image path {name!r} leaves the CSV's folder")
        votes = [0] * len(FERPLUS_VOTE_COLUMNS)
        for i, col in cols.items():
            try:
                v = int(fields[i])
            except ValueError:
                raise DataError(f"{path}:{line}: {header[i]} = {fields[i]!r}: expected a vote count (an integer "
                                f">= 0)") from None
            if v < 0:
                raise DataError(f"{path}:{line}: {header[i]} = {v}: expected a vote count >= 0")
            votes[FERPLUS_VOTE_COLUMNS.index(col)] = v
        if not 1 <= sum(votes) <= ANNOTATORS:
            raise DataError(f"{path}:{line}: vote counts total {sum(votes)}: expected 1..{ANNOTATORS} "
                            f"(FER+'s {ANNOTATORS} annotators)")
        split = None
        if split_at is not None:
            split = SPLIT_NAMES.get(fields[split_at].strip().lower())
            if split is None:
                raise DataError(f"{path}:{line}: split = {fields[split_at]!r}: expected train, valid or test")
        items.append((image, votes, split))
    return items, mapping, []


def _assign_splits(labels: np.ndarray, given: list, valid: float, test: float, seed: int) -> list[str]:
    """Per-class seeded split where none is given: round(share x n) faces of each class to valid and test."""
    if all(s is not None for s in given):
        return list(given)
    if any(s is not None for s in given):
        raise DataError("some faces name a split and some do not: name it for all or for none")
    rng = np.random.default_rng(seed)
    out = ["train"] * len(labels)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_valid, n_test = int(round(valid * len(idx))), int(round(test * len(idx)))
        for i in idx[:n_valid]:
            out[i] = "valid"
        for i in idx[n_valid:n_valid + n_test]:
            out[i] = "test"
    return out


def import_faces(source, out, *, valid: float = 0.1, test: float = 0.1, seed: int = 0) -> dict:
    """Convert a class-folder tree or a votes CSV (``source``) into a FER+ data root at ``out``.

    Returns the manifest written to ``out/faces.json``: source, class mapping, faces per split and class,
    skipped files with reasons. ``out`` must be new, empty or an earlier import (it is then replaced).
    Raises DataError naming the folder, file or line on bad input; an unreadable image is a listed skip.
    """
    source, out = Path(source).expanduser(), Path(out).expanduser()
    for name, share in (("valid", valid), ("test", test)):
        if not 0 <= share < 1:
            raise ValueError(f"{name}={share}: expected a share in [0, 1)")
    if valid + test >= 1:
        raise ValueError(f"valid + test = {valid + test}: expected below 1 (faces must remain for training)")
    if not source.exists():
        raise DataError(f"{source}: no such folder or CSV file")
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise DataError(f"{out}: exists and is not an earlier import (no {MANIFEST}): give a new or empty folder")
    items, mapping, skipped = _from_csv(source) if source.is_file() else _from_folders(source)
    images, votes, splits = [], [], []
    for path, v, split in items:
        try:
            images.append(face_image(path))
        except FileNotFoundError:
            skipped.append(f"{path}: file not found")
            continue
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            skipped.append(f"{path}: cannot decode image ({err})")
            continue
        votes.append(v)
        splits.append(split)
    if not images:
        raise DataError(f"{source}: no readable face images ({len(skipped)} skipped: {skipped[:3]})")
    votes = np.asarray(votes, dtype=np.int64)
    labels = votes.argmax(1)
    splits = _assign_splits(labels, splits, valid, test, seed)
    for stale in (out / "ferplus").glob("FER2013*/*"):
        stale.unlink()
    counts = {}
    for split, folder in FOLDERS.items():
        target = out / "ferplus" / folder
        target.mkdir(parents=True, exist_ok=True)
        rows = [i for i, s in enumerate(splits) if s == split]
        if not rows:
            raise DataError(f"{source}: no faces for the {split} split ({len(images)} faces in all): give more "
                            f"faces per class, or split folders / a split column")
        with open(target / "label.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            for k, i in enumerate(rows):
                name = f"fer{k:07d}.png"
                Image.fromarray(images[i]).save(target / name)
                w.writerow([name, f"(0, 0, {SIZE}, {SIZE})", *votes[i].tolist()])
        counts[split] = {c: int((labels[rows] == FERPLUS_VOTE_COLUMNS.index(c)).sum())
                         for c in FERPLUS_VOTE_COLUMNS if (labels[rows] == FERPLUS_VOTE_COLUMNS.index(c)).any()}
    digest = hashlib.sha256(np.stack(images).tobytes() + votes.tobytes() + "".join(splits).encode()).hexdigest()
    manifest = {"source": str(source), "form": "votes CSV" if source.is_file() else "class folders",
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "faces": len(images), "fingerprint": digest[:16], "class_mapping": mapping,
                "split": {"valid": valid, "test": test, "seed": seed} if items and items[0][2] is None else "given",
                "counts": counts, "classes_without_faces": [c for c in FERPLUS_CLASSES
                                                            if all(c not in v for v in counts.values())],
                "skipped": skipped}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def imported_root(root) -> dict | None:
    """The manifest of an imported-faces data root, or None for any other root (FER+, the sample)."""
    path = Path(root) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fer_utils.faces", description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="a folder of class folders (optionally under train/valid/test), or a votes CSV")
    ap.add_argument("out", help="the data root to write (new, empty, or an earlier import)")
    ap.add_argument("--valid", type=float, default=0.1, help="share of each class for validation (default 0.1)")
    ap.add_argument("--test", type=float, default=0.1, help="share of each class for test (default 0.1)")
    ap.add_argument("--seed", type=int, default=0, help="the split's seed (default 0)")
    args = ap.parse_args(argv)
    try:
        m = import_faces(args.source, args.out, valid=args.valid, test=args.test, seed=args.seed)
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{m['faces']} faces -> {args.out} ({m['form']}; classes: "
          f"{', '.join(f'{k} -> {v}' for k, v in m['class_mapping'].items())})")
    for split, c in m["counts"].items():
        print(f"  {split}: {sum(c.values())} ({', '.join(f'{k} {v}' for k, v in c.items())})")
    if m["classes_without_faces"]:
        print(f"  no faces for: {', '.join(m['classes_without_faces'])} (their F1 is reported as 0 / undefined)")
    if m["skipped"]:
        print(f"  skipped {len(m['skipped'])} file(s), listed in {Path(args.out) / MANIFEST}:")
        for s in m["skipped"][:10]:
            print(f"    {s}")
    print(f"train on them: FER_DATA_ROOT={args.out} python -m fer_utils.reproduce notebooks/<chapter>.ipynb "
          f"--profile cpu   (runs are stored in {Path(args.out) / 'results'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
