"""What every training task shares: where the data is, the final test metrics, what a task returns."""
from __future__ import annotations

import numpy as np
import torch

from ..data import DataError, load_ckplus, load_ferplus
from ..data.io import SAMPLE_ROOT, resolve_root
from ..labels import CKPLUS_CLASSES, FERPLUS_CLASSES, noise_report, training_labels
from ..losses import supervised_ce
from ..metrics import abaw_overall, accuracy, macro_f1, per_class_f1
from ..models import build_model
from ..train import DeviceData, TrainConfig, fit, seed_everything


def data_root_for(config: dict):
    """"sample" = the bundled sample (smoke runs); "full" = the real data, never silently the sample."""
    if config["data"] == "sample":
        return SAMPLE_ROOT
    if config["data"] == "full":
        root, origin = resolve_root()
        if origin == "sample":
            raise DataError("data='full' needs the real FER+ data ($FER_DATA_ROOT or ../shared/data); "
                            "only the bundled sample was found")
        return root
    raise ValueError(f"config data={config['data']!r}: expected 'sample' or 'full'")


def load_ferplus_splits(config: dict):
    root = data_root_for(config)
    return load_ferplus("train", root), load_ferplus("valid", root), load_ferplus("test", root)


def training_split(train, config: dict):
    """The training labels a config asks for ("labels", "label_seed"), restricted to labelled images.
    Returns (train subset with those labels, indices of the subset in the split, NoiseReport)."""
    y = training_labels(train.votes, train.labels, config.get("labels", "majority"), 8, config.get("label_seed", 0))
    noise = noise_report(train.labels, y, 8)
    keep = np.flatnonzero(y >= 0)
    return train.with_labels(y).subset(keep), keep, noise


def final_test_metrics(labels: np.ndarray, logits: torch.Tensor, class_names=FERPLUS_CLASSES) -> dict:
    """The book's final metrics on FER+ Test (majority labels; unlabelled test images left out)."""
    pred = logits.argmax(1).cpu().numpy()
    keep = labels >= 0
    y, p = labels[keep], pred[keep]
    c = len(class_names)
    table = per_class_f1(y, p, class_names)
    return {"macro_f1": macro_f1(y, p, c), "accuracy": accuracy(y, p), "abaw_overall": abaw_overall(y, p, c),
            "per_class_f1": {k: float(v) for k, v in table["f1"].items()}, "n_test": int(keep.sum())}


def outcome(final: dict, result, predictions: dict, train, valid, test, noise) -> dict:
    """What a task returns to run_or_load: test metrics, history, predictions, speed and data facts."""
    return {"final": {**final, "best_valid_macro_f1": result.best_score}, "history": result.history,
            "best_epoch": result.best_epoch, "predictions": predictions, "train_seconds": result.train_seconds,
            "images_per_s": result.images_per_s,
            "data": {"source": train.source, "n_train": len(train), "n_valid": len(valid), "n_test": len(test),
                     "label_noise_rate": noise.rate}}




def pretrain_on_ckplus(config: dict, device, arch: str) -> dict:
    """A ResNet backbone trained on all of CK+48 (7 posed expressions): the book's stand-in for pretraining
    on another expression dataset (the papers use AffectNet or RAF-DB). Returns its state dict."""
    ck = load_ckplus(data_root_for(config))
    cfg = TrainConfig(**config["pretrain"], seed=config["seed"], device=str(device))
    seed_everything(config["seed"] + 10_000)
    model = build_model(arch, len(CKPLUS_CLASSES), dropout=config.get("dropout", 0.0))
    fit(model, DeviceData.from_record(ck, device), None, supervised_ce, cfg, num_classes=len(CKPLUS_CLASSES),
        progress=False)
    return model.state_dict()
