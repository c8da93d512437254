"""A compact, lossless single-file form of FER+ for machines the data must be carried to (the GPU machine
takes at most 64 MiB with a call; the FER+ PNG folders alone are 65 MB).

Each image is stored as the residual of the median edge detector predictor of JPEG-LS (MED: the
prediction from the left, upper and upper-left neighbours), and the whole container is compressed with
LZMA: 35,710 faces take about 56 MB. Decoding gives back the exact pixels (tested against the PNGs).

    python -m fer_utils.data.pack --source ../shared/data --out .data     # writes .data/ferplus/ferplus.pack
                                                                          # and copies ckplus/ beside it
"""
from __future__ import annotations

import argparse
import io
import lzma
import shutil
from pathlib import Path

import numpy as np

from .ferplus import FOLDERS, _record, load_ferplus
from .record import DataError, FaceData

PACK_NAME = "ferplus.pack"
MAGIC = b"FERPACK1"


def _med_prediction(x: np.ndarray) -> np.ndarray:
    """MED predictor for every pixel of (N, H, W) int16 images (zero outside the image)."""
    a = np.zeros_like(x)
    b = np.zeros_like(x)
    c = np.zeros_like(x)
    a[:, :, 1:] = x[:, :, :-1]
    b[:, 1:, :] = x[:, :-1, :]
    c[:, 1:, 1:] = x[:, :-1, :-1]
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    return np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))


def encode_images(images: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 -> MED residuals (N, H, W) uint8 (mod 256)."""
    x = images.astype(np.int16)
    return ((x - _med_prediction(x)) % 256).astype(np.uint8)


def decode_images(residuals: np.ndarray) -> np.ndarray:
    """Inverse of ``encode_images``: rebuild the pixels in raster order, all images at once."""
    n, h, w = residuals.shape
    x = np.zeros((n, h + 1, w + 1), np.int16)  # a zero row and column stand for "outside the image"
    r = residuals.astype(np.int16)
    for i in range(h):
        for j in range(w):
            a, b, c = x[:, i + 1, j], x[:, i, j + 1], x[:, i, j]
            hi, lo = np.maximum(a, b), np.minimum(a, b)
            pred = np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))
            x[:, i + 1, j + 1] = (r[:, i, j] + pred) % 256
    return x[:, 1:, 1:].astype(np.uint8)


def pack_ferplus(root, out_path) -> Path:
    """Write every FER+ split of ``root`` (any form load_ferplus reads) to one packed file."""
    arrays = {}
    for split in FOLDERS:
        d = load_ferplus(split, root)
        arrays[f"{split}_residuals"] = encode_images(d.images)
        arrays[f"{split}_votes"] = d.votes.astype(np.uint8)
        arrays[f"{split}_names"] = d.names
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(MAGIC + lzma.compress(buf.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    return out_path


def load_packed(path, split: str) -> FaceData:
    """One split from a packed file, as FaceData identical to the folder form."""
    path = Path(path)
    blob = path.read_bytes()
    if not blob.startswith(MAGIC):
        raise DataError(f"{path}: not a FER+ pack (expected it to start with {MAGIC!r})")
    try:
        with np.load(io.BytesIO(lzma.decompress(blob[len(MAGIC):])), allow_pickle=False) as z:
            residuals, votes, names = z[f"{split}_residuals"], z[f"{split}_votes"], z[f"{split}_names"]
    except (lzma.LZMAError, KeyError, ValueError) as err:
        raise DataError(f"{path}: unreadable FER+ pack ({err})") from err
    return _record(decode_images(residuals), votes.astype(np.int64), names, split, path, [])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=None, help="data root (default: $FER_DATA_ROOT, then ../shared/data)")
    ap.add_argument("--out", required=True, help="new data root, e.g. .data (git-ignored)")
    args = ap.parse_args(argv)
    from .io import resolve_root
    src, _ = resolve_root(args.source)
    out = Path(args.out)
    pack = pack_ferplus(src, out / "ferplus" / PACK_NAME)
    ck = src / "ckplus"
    if ck.is_dir():
        if (out / "ckplus").exists():
            shutil.rmtree(out / "ckplus")
        shutil.copytree(ck, out / "ckplus")
    print(f"{pack}: {pack.stat().st_size / 1e6:.1f} MB; CK+ copied: {ck.is_dir()}")


if __name__ == "__main__":
    main()
