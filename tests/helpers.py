"""Fixture writers: tiny datasets in the exact on-disk formats of FER2013/FER+, Aff-Wild2, RAF-DB, AffectNet,
made from real FER+ images."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from fer_utils.data import load_ferplus
from fer_utils.labels import FERPLUS_VOTE_COLUMNS


def some_faces(n: int, split: str = "valid") -> np.ndarray:
    """n real 48x48 FER+ faces."""
    return load_ferplus(split).images[:n]


def save_jpg(img: np.ndarray, path: Path, size: int = 112) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).resize((size, size)).convert("RGB").save(path, quality=95)


def write_ferplus_fixture(src_root: Path, out: Path, per_split: int = 6):
    """The same real images twice: Microsoft's folder layout under out/folders, and the Kaggle pair
    fer2013.csv + fer2013new.csv under out/csv (with one row FER+ dropped and one duplicated name)."""
    from fer_utils.data.ferplus import FOLDERS, USAGE
    from fer_utils.data.io import dataset_dir
    ferplus, _ = dataset_dir(src_root, "ferplus", "FER2013Valid/label.csv")
    new_rows, old_rows = [], []
    for split, folder in FOLDERS.items():
        lines = (ferplus / folder / "label.csv").read_text().splitlines()[:per_split]
        dst = out / "folders" / "ferplus" / folder
        dst.mkdir(parents=True)
        (dst / "label.csv").write_text("\n".join(lines) + "\n")
        for i, line in enumerate(lines):
            fields = line.split(",")
            name, votes = fields[0], fields[-10:]
            shutil.copyfile(ferplus / folder / name, dst / name)
            pixels = np.asarray(Image.open(ferplus / folder / name)).reshape(-1)
            new_rows.append(f"{USAGE[split]},{name}," + ",".join(votes))
            old_rows.append(f"0,{' '.join(map(str, pixels))},{USAGE[split]}")
            if i == 1:  # a row FER+ dropped (not a face): empty image name
                new_rows.append(f"{USAGE[split]},,0,0,0,0,0,0,0,0,0,10")
                old_rows.append(f"0,{' '.join(['0'] * 2304)},{USAGE[split]}")
            if i == 2 and split == "train":  # a later row repeating an image name (as in fer2013new.csv)
                new_rows.append(f"{USAGE[split]},{name},0,0,0,0,0,0,0,0,0,10")
                old_rows.append(f"0,{' '.join(['0'] * 2304)},{USAGE[split]}")
    csv_dir = out / "csv"
    csv_dir.mkdir(parents=True)
    (csv_dir / "fer2013new.csv").write_text("Usage,Image name," + ",".join(FERPLUS_VOTE_COLUMNS) + "\n"
                                            + "\n".join(new_rows) + "\n")
    (csv_dir / "fer2013.csv").write_text("emotion,pixels,Usage\n" + "\n".join(old_rows) + "\n")
    return out / "folders", csv_dir


class TinyNet:
    """A small CNN with the FERNet interface (logits, or (logits, features, maps)), so engine tests run
    in seconds on a CPU; the book's ResNet-18 is tested separately for shapes."""

    def __new__(cls, num_classes: int = 8):
        import torch
        from torch import nn

        class _Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                                              nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU())
                self.dropout = nn.Dropout(0.2)
                self.fc = nn.Linear(32, num_classes)

            def forward(self, x, return_features=False):
                maps = self.backbone(x)
                features = maps.mean(dim=(2, 3))
                logits = self.fc(self.dropout(features))
                return (logits, features, maps) if return_features else logits

        torch.manual_seed(0)
        return _Tiny()
