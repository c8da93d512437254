"""Build the bundled sample (``fer_utils/sample_data``) from the real data: a few hundred real images.

    python -m fer_utils.build_sample --source ../shared/data

The sample keeps the real layouts byte for byte (PNG files copied, label rows copied), so every loader
reads it exactly as it reads the full data. Selection is seeded:
FER+ train 24 labelled images per class + 8 unlabelled, valid and test 7 per class + 2 unlabelled;
CK+48 two sequences per class (all three frames), each from a different subject.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from .data.ckplus import FACS_HEADER
from .data.ferplus import FOLDERS
from .data.io import SAMPLE_ROOT, csv_rows
from .labels import majority_labels

PER_CLASS = {"train": 24, "valid": 7, "test": 7}
UNLABELLED = {"train": 8, "valid": 2, "test": 2}
CK_SEQUENCES_PER_CLASS = 2


def build_ferplus(src: Path, dst: Path, seed: int) -> int:
    rng = np.random.default_rng(seed)
    total = 0
    for split, folder in FOLDERS.items():
        rows = list(csv_rows(src / folder / "label.csv"))
        votes = np.array([[int(x) for x in f[2:]] for _, f in rows])
        labels = majority_labels(votes)
        chosen = []
        for c in range(8):
            idx = np.flatnonzero(labels == c)
            chosen += list(rng.choice(idx, size=min(PER_CLASS[split], len(idx)), replace=False))
        chosen += list(rng.choice(np.flatnonzero(labels < 0), size=UNLABELLED[split], replace=False))
        chosen.sort()
        out = dst / folder
        out.mkdir(parents=True, exist_ok=True)
        lines = (src / folder / "label.csv").read_text().splitlines()
        with open(out / "label.csv", "w") as fh:
            for i in chosen:
                line_no, fields = rows[i]
                fh.write(lines[line_no - 1] + "\n")
                shutil.copyfile(src / folder / fields[0], out / fields[0])
        total += len(chosen)
    shutil.copyfile(src / "LICENSE-FERPlus.md", dst / "LICENSE-FERPlus.md")
    return total


def build_ckplus(src: Path, dst: Path, seed: int) -> int:
    rng = np.random.default_rng(seed)
    rows = list(csv_rows(src / "ckplus_facs.csv", FACS_HEADER))
    used_subjects: set[str] = set()
    keep = []
    for emotion in sorted({f[2] for _, f in rows}):
        candidates = [f for _, f in rows if f[2] == emotion]
        for j in rng.permutation(len(candidates)):
            f = candidates[j]
            if f[0] not in used_subjects:
                used_subjects.add(f[0])
                keep.append(f)
            if sum(k[2] == emotion for k in keep) == CK_SEQUENCES_PER_CLASS:
                break
    keep.sort(key=lambda f: f[1])
    (dst / "CK+48").mkdir(parents=True, exist_ok=True)
    with open(dst / "ckplus_facs.csv", "w") as fh:
        fh.write(",".join(FACS_HEADER) + "\n")
        for f in keep:
            fh.write(",".join(f) + "\n")
    total = 0
    folder_of = {"happiness": "happy"}
    for f in keep:
        folder = folder_of.get(f[2], f[2])
        (dst / "CK+48" / folder).mkdir(exist_ok=True)
        for png in sorted((src / "CK+48" / folder).glob(f"{f[1]}_*.png")):
            shutil.copyfile(png, dst / "CK+48" / folder / png.name)
            total += 1
    return total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="../shared/data", help="the real data root (holding ferplus/, ckplus/)")
    ap.add_argument("--out", default=str(SAMPLE_ROOT))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    src, out = Path(args.source), Path(args.out)
    for sub in ("ferplus", "ckplus"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    n_fer = build_ferplus(src / "ferplus", out / "ferplus", args.seed)
    n_ck = build_ckplus(src / "ckplus", out / "ckplus", args.seed)
    print(f"sample written to {out}: {n_fer} FER+ images, {n_ck} CK+48 images")


if __name__ == "__main__":
    main()
