"""Shared plumbing of the loaders: where the data is, reading images and CSV lines, the on-disk cache."""
from __future__ import annotations

import csv
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..paths import PACKAGE_DIR, PROJECT_DIR, SAMPLE_ROOT, cache_dir  # noqa: F401  (re-exported)
from .record import PER_SAMPLE, DataError, FaceData, Skip

CACHE_VERSION = 1


def shared_data_candidates() -> list[Path]:
    """Where ``../shared/data`` may be: beside the project checkout, or beside the working directory."""
    return [PROJECT_DIR.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]


def resolve_root(root=None) -> tuple[Path, str]:
    """The data root and where it came from.

    Order: the ``root`` argument, then ``$FER_DATA_ROOT``, then ``../shared/data`` (beside the project),
    then the bundled sample (``fer_utils/sample_data``, a few hundred real images).
    ``FER_DATA_ROOT=sample`` selects the bundled sample even where ../shared/data exists (how CI runs the
    tests as a reader's fresh clone without the data would).
    Returns (path, origin) with origin one of "argument", "FER_DATA_ROOT", "shared", "sample".
    """
    if root is not None:
        path = Path(root).expanduser()
        if not path.exists():
            raise DataError(f"data root {path} (the root argument) does not exist")
        return path, "argument"
    env = os.environ.get("FER_DATA_ROOT")
    if env == "sample":
        return SAMPLE_ROOT, "sample"
    if env:
        path = Path(env).expanduser()
        if not path.exists():
            raise DataError(f"data root {path} (from $FER_DATA_ROOT) does not exist")
        return path, "FER_DATA_ROOT"
    for path in shared_data_candidates():
        if (path / "ferplus").is_dir() or (path / "ckplus").is_dir():
            return path.resolve(), "shared"
    return SAMPLE_ROOT, "sample"


def dataset_dir(root, name: str, marker: str) -> tuple[Path, str]:
    """The folder of dataset ``name`` under the data root (or the root itself if it is that folder).

    ``marker`` is a file or folder the dataset folder must contain; the error says so when it is missing.
    """
    base, origin = resolve_root(root)
    for path in (base / name, base):
        if (path / marker).exists():
            return path, origin
    raise DataError(f"{base} (data root from {origin}) holds no {name} data: expected {base / name / marker}")


def read_image(path: Path, size: int | None = None, expect: tuple[int, int] | None = None) -> np.ndarray:
    """Decode one image file to a (H, W) uint8 grayscale array.

    ``expect``: the (H, W) the file must have (an error otherwise); ``size``: resize to size x size.
    """
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode != "L":
                im = im.convert("L")
            if expect is not None and im.size != (expect[1], expect[0]):
                raise DataError(f"{path}: expected a {expect[0]}x{expect[1]} image, got {im.size[1]}x{im.size[0]}")
            if size is not None and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: cannot decode image ({err})") from err


def read_images(paths: list[Path], size: int | None = None, expect=None) -> np.ndarray:
    """Decode many images in parallel threads (PIL releases the GIL while decoding)."""
    if not paths:
        side = size or (expect[0] if expect else 48)
        return np.zeros((0, side, side), np.uint8)
    workers = min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(workers) as pool:
        arrays = list(pool.map(lambda p: read_image(p, size, expect), paths, chunksize=256))
    return np.stack(arrays)


def csv_rows(path: Path, header: list[str] | None = None, *, delimiter=",") -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) of a CSV file; checks the header line if one is given. A file that is not
    UTF-8 text, or that holds no data row (empty, or its header only), is a DataError naming it."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    rows = 0
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            for fields in reader:
                line = reader.line_num
                if header is not None and line == 1:
                    got = [f.strip() for f in fields]
                    if got != header:
                        raise DataError(f"{path}:1: expected the header {','.join(header)}, got {','.join(got)}")
                    continue
                if not fields or all(not f.strip() for f in fields):
                    continue
                rows += 1
                yield line, fields
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at offset "
                            f"{e.start}, after line {reader.line_num})") from None
    if rows == 0:
        raise DataError(f"{path}: no data rows (the file is empty{' or holds only its header' if header else ''})")


def text_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file; a file that is not UTF-8 is a DataError naming it."""
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at offset {e.start})") from None


def parse_int(text: str, path: Path, line: int, what: str, lo: int, hi: int, allowed=()) -> int:
    """An integer field in [lo, hi] (or one of ``allowed``), else a DataError naming file and line."""
    try:
        value = int(text.strip())
    except ValueError:
        raise DataError(f"{path}:{line}: expected an integer {what}, got {text!r}") from None
    if not (lo <= value <= hi) and value not in allowed:
        extra = f" or {', '.join(map(str, allowed))}" if allowed else ""
        raise DataError(f"{path}:{line}: expected {what} in {lo}..{hi}{extra}, got {value}")
    return value


def parse_float(text: str, path: Path, line: int, what: str, lo: float | None = None, hi: float | None = None,
                allowed=()) -> float:
    """A finite number (in [lo, hi] or one of ``allowed`` where given), else a DataError naming file and line."""
    try:
        value = float(text.strip())
    except ValueError:
        raise DataError(f"{path}:{line}: expected a number for {what}, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise DataError(f"{path}:{line}: expected a finite number for {what}, got {text.strip()!r}")
    if value in allowed:
        return value
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        extra = f" or {', '.join(map(str, allowed))}" if allowed else ""
        raise DataError(f"{path}:{line}: expected {what} in [{lo}, {hi}]{extra}, got {value}")
    return value


# --------------------------------------------------------------------------- on-disk cache

def source_signature(files: list[Path], folders: list[Path]) -> str:
    """A digest of the source: each file's path, size and mtime, and every entry of each folder.

    Any added, removed, rewritten or touched file changes the signature (and so invalidates the cache).
    """
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for d in folders:
        h.update(f"{d.resolve()}\n".encode())
        entries = sorted(os.scandir(d), key=lambda e: e.name)
        for e in entries:
            st = e.stat()
            h.update(f"{e.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _code_signature() -> str:
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    h.update((PACKAGE_DIR / "labels.py").read_bytes())
    return h.hexdigest()


def _save(record: FaceData, path: Path) -> None:
    arrays = {name: getattr(record, name) for name in PER_SAMPLE if getattr(record, name) is not None}
    meta = {"class_names": record.class_names, "dataset": record.dataset, "split": record.split,
            "source": record.source, "au_names": record.au_names,
            "skipped": [[s.file, s.line, s.reason] for s in record.skipped]}
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def _load(path: Path) -> FaceData:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {name: z[name] for name in PER_SAMPLE if name in z.files}
    return FaceData(class_names=tuple(meta["class_names"]), dataset=meta["dataset"], split=meta["split"],
                    source=meta["source"],
                    au_names=tuple(meta["au_names"]) if meta["au_names"] else None,
                    skipped=[Skip(*s) for s in meta["skipped"]], **arrays)


def cached(key: dict, files: list[Path], folders: list[Path], build: Callable[[], FaceData],
           use_cache: bool = True) -> FaceData:
    """Return ``build()``, stored under a key made of ``key``, the source signature and the loader code."""
    if not use_cache or os.environ.get("FER_NO_CACHE"):
        return build()
    digest = hashlib.sha256(json.dumps({**key, "v": CACHE_VERSION, "src": source_signature(files, folders),
                                        "code": _code_signature()}, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / f"{key.get('dataset', 'data')}-{key.get('split', '')}-{digest}.npz"
    if path.is_file():
        try:
            return _load(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a torn or stale file: rebuild below
    record = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(record, path)
    return record
