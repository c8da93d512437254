"""The lossless image codec of the FER+ pack (``fer_utils.data.pack``): each image is stored as the residual
of the median edge detector predictor of JPEG-LS (MED: the prediction from the left, upper and upper-left
neighbours), and the container is LZMA-compressed. Decoding gives back the exact pixels (tested).
The loaders read packs through ``read_pack``; writing one is ``pack.pack_ferplus``."""
from __future__ import annotations

import io
import lzma
from pathlib import Path

import numpy as np

from .record import DataError

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


def read_pack(path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One split of a packed file: (images (N, 48, 48) uint8, votes (N, 10) int64, names (N,))."""
    path = Path(path)
    blob = path.read_bytes()
    if not blob.startswith(MAGIC):
        raise DataError(f"{path}: not a FER+ pack (expected it to start with {MAGIC!r})")
    try:
        with np.load(io.BytesIO(lzma.decompress(blob[len(MAGIC):])), allow_pickle=False) as z:
            residuals, votes, names = z[f"{split}_residuals"], z[f"{split}_votes"], z[f"{split}_names"]
    except (lzma.LZMAError, KeyError, ValueError) as err:
        raise DataError(f"{path}: unreadable FER+ pack ({err})") from err
    return decode_images(residuals), votes.astype(np.int64), names
