"""Training tasks that ``run_or_load`` can run, by name: each takes (config, work_dir) and returns the
final test metrics, the per-epoch history and the test predictions. Paper notebooks add their tasks here."""
from __future__ import annotations

import numpy as np
import torch

from .data import DataError, load_ferplus
from .data.io import SAMPLE_ROOT, resolve_root
from .labels import FERPLUS_CLASSES, noise_report, training_labels
from .losses import supervised_ce
from .metrics import abaw_overall, accuracy, macro_f1, per_class_f1
from .models import build_model
from .train import DeviceData, TrainConfig, fit, predict, seed_everything

TASKS = {}


def task(name):
    def register(fn):
        TASKS[name] = fn
        return fn
    return register


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


def test_metrics(labels: np.ndarray, logits: torch.Tensor, class_names=FERPLUS_CLASSES) -> dict:
    """The book's final metrics on FER+ Test (majority labels; unlabelled test images left out)."""
    pred = logits.argmax(1).cpu().numpy()
    keep = labels >= 0
    y, p = labels[keep], pred[keep]
    c = len(class_names)
    table = per_class_f1(y, p, class_names)
    return {"macro_f1": macro_f1(y, p, c), "accuracy": accuracy(y, p), "abaw_overall": abaw_overall(y, p, c),
            "per_class_f1": {k: float(v) for k, v in table["f1"].items()}, "n_test": int(keep.sum())}


@task("supervised")
def supervised(config: dict, work_dir, progress: bool = True) -> dict:
    """Fully supervised training with cross-entropy on FER+ (majority or noisy training labels)."""
    train, valid, test = load_ferplus_splits(config)
    y = training_labels(train.votes, train.labels, config.get("labels", "majority"), 8,
                        config.get("label_seed", 0))
    noise = noise_report(train.labels, y, 8)
    train = train.with_labels(y).subset(y >= 0)
    cfg = TrainConfig(**config["train"], seed=config["seed"])
    device = cfg.resolved_device()
    seed_everything(config["seed"])
    model = build_model(config.get("arch", "resnet18"), 8, dropout=config.get("dropout", 0.0))
    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device),
                 supervised_ce, cfg, num_classes=8, ckpt_dir=work_dir, progress=progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size)
    return {"final": {**test_metrics(test.labels, logits), "best_valid_macro_f1": result.best_score},
            "history": result.history, "best_epoch": result.best_epoch,
            "predictions": {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels,
                            "names": test.names},
            "train_seconds": result.train_seconds, "images_per_s": result.images_per_s,
            "data": {"source": train.source, "n_train": len(train), "n_valid": len(valid), "n_test": len(test),
                     "label_noise_rate": noise.rate}}
