"""A compact, lossless single-file form of FER+ for machines the data must be carried to (the GPU machine
takes at most 64 MiB with a call; the FER+ PNG folders alone are 65 MB).

Each image is stored as the residual of the median edge detector predictor of JPEG-LS (``med_codec``),
and the whole container is compressed with LZMA: 35,710 faces take about 56 MB. Decoding gives back the
exact pixels (tested against the PNGs).

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
from .io import resolve_root
from .med_codec import MAGIC, PACK_NAME, decode_images, encode_images, read_pack  # noqa: F401  (re-exported)
from .record import FaceData


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
    return _record(*read_pack(path, split), split, Path(path), [])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=None, help="data root (default: $FER_DATA_ROOT, then ../shared/data)")
    ap.add_argument("--out", required=True, help="new data root, e.g. .data (git-ignored)")
    args = ap.parse_args(argv)
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
