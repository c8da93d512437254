"""A compact, lossless single-file form of FER+ for machines the data must be carried to (the GPU machine
takes at most 64 MiB with a call; the FER+ PNG folders alone are 65 MB).

Each image is stored as the residual of the median edge detector predictor of JPEG-LS (``med_codec``),
and the whole container is compressed with LZMA: 35,710 faces take about 56 MB. Decoding gives back the
exact pixels (tested against the PNGs).

    python -m fer_utils.data.pack --source ../shared/data --out .data     # writes .data/ferplus/ferplus.pack
                                                                          # and copies ckplus/ beside it

The packed file alone is close to a call's 64 MiB, and the tracked tree travels with it, so ``--part-mib N``
cuts it into byte-exact parts of at most N MiB (``ferplus.pack.part-1-of-3`` ...): carry one part per call
(the machine keeps git-ignored files between calls while it stays warm), then join them there:

    python -m fer_utils.data.pack --out .data --part-mib 24                # here: parts, CK+ beside them
    python -m fer_utils.data.pack --join .data                            # there: parts -> ferplus.pack
"""
from __future__ import annotations

import argparse
import io
import lzma
import re
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


PART_RE = re.compile(re.escape(PACK_NAME) + r"\.part-(\d+)-of-(\d+)$")


def split_pack(pack, part_bytes: int) -> list[Path]:
    """Cut ``pack`` into consecutive byte ranges of at most ``part_bytes``, named ``<pack>.part-i-of-n``;
    the whole file is removed once every part is written (``join_pack`` restores it byte for byte)."""
    pack = Path(pack)
    if part_bytes < 1:
        raise ValueError(f"part size {part_bytes} bytes: expected at least 1")
    data = pack.read_bytes()
    n = max(1, -(-len(data) // part_bytes))
    for old in pack.parent.glob(pack.name + ".part-*"):
        old.unlink()
    parts = []
    for i in range(n):
        part = pack.with_name(f"{pack.name}.part-{i + 1}-of-{n}")
        part.write_bytes(data[i * part_bytes:(i + 1) * part_bytes])
        parts.append(part)
    pack.unlink()
    return parts


def join_pack(folder) -> Path:
    """Join ``folder``'s ``ferplus.pack.part-i-of-n`` files into ``ferplus.pack`` and remove the parts.
    Refuses, naming them, when parts are missing or disagree on n, and when the joined bytes do not start
    with the pack's header (parts renamed out of order): such a set fails here, not inside a training run."""
    folder = Path(folder)
    found = {}
    for f in folder.iterdir():
        m = PART_RE.match(f.name)
        if m:
            found[(int(m.group(1)), int(m.group(2)))] = f
    if not found:
        raise FileNotFoundError(f"{folder}: no {PACK_NAME}.part-i-of-n files to join")
    counts = {n for _, n in found}
    if len(counts) != 1:
        raise ValueError(f"{folder}: parts of different sets ({sorted(f.name for f in found.values())})")
    n = counts.pop()
    missing = [f"{PACK_NAME}.part-{i}-of-{n}" for i in range(1, n + 1) if (i, n) not in found]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)} (carry every part before joining)")
    data = b"".join(found[(i, n)].read_bytes() for i in range(1, n + 1))
    if not data.startswith(MAGIC):
        raise ValueError(f"{folder}: the joined parts do not start with the FER+ pack header {MAGIC!r}")
    out = folder / PACK_NAME
    out.write_bytes(data)
    for f in found.values():
        f.unlink()
    return out


def load_packed(path, split: str) -> FaceData:
    """One split from a packed file, as FaceData identical to the folder form."""
    return _record(*read_pack(path, split), split, Path(path), [])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=None, help="data root (default: $FER_DATA_ROOT, then ../shared/data)")
    ap.add_argument("--out", default=None, help="new data root, e.g. .data (git-ignored)")
    ap.add_argument("--part-mib", type=float, default=None,
                    help="cut the pack into parts of at most this many MiB, one per carried call")
    ap.add_argument("--join", metavar="ROOT", default=None,
                    help="join ROOT/ferplus/ferplus.pack.part-i-of-n back into ferplus.pack (on the machine)")
    args = ap.parse_args(argv)
    if args.join:
        joined = join_pack(Path(args.join) / "ferplus")
        print(f"{joined}: {joined.stat().st_size / 1e6:.1f} MB joined")
        return
    if not args.out:
        ap.error("--out is required (or --join ROOT)")
    if args.part_mib is not None and args.part_mib * 2**20 < 1:
        ap.error(f"--part-mib {args.part_mib}: expected a positive size in MiB, e.g. 24")
    src, _ = resolve_root(args.source)
    out = Path(args.out)
    pack = pack_ferplus(src, out / "ferplus" / PACK_NAME)
    size_mb = pack.stat().st_size / 1e6
    parts = split_pack(pack, int(args.part_mib * 2**20)) if args.part_mib else [pack]
    ck = src / "ckplus"
    if ck.is_dir():
        if (out / "ckplus").exists():
            shutil.rmtree(out / "ckplus")
        shutil.copytree(ck, out / "ckplus")
    print(f"{out / 'ferplus'}: {size_mb:.1f} MB packed in {len(parts)} file(s) "
          f"({', '.join(p.name for p in parts)}); CK+ copied: {ck.is_dir()}")


if __name__ == "__main__":
    main()
