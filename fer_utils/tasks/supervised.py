"""The fully supervised baseline: one network, cross-entropy (paper 000's fully supervised model)."""
from __future__ import annotations

import functools

import numpy as np
import torch

from ..labels import labelled_fraction_split
from ..losses import supervised_ce
from ..models import build_model
from ..train import DeviceData, TrainConfig, fit, predict, seed_everything
from . import task
from .common import final_test_metrics, load_ferplus_splits, outcome, training_split


@task("supervised")
def supervised(config: dict, work_dir, progress: bool = True) -> dict:
    """Fully supervised training with cross-entropy on FER+ (majority or noisy training labels; optionally
    only a labelled fraction of each class, the scarce-label reference for the semi-supervised methods)."""
    train, valid, test = load_ferplus_splits(config)
    train, _, noise = training_split(train, config)
    if config.get("labelled_fraction", 1.0) < 1.0:  # scarce labels: keep a fraction of every class, drop the rest
        keep, _ = labelled_fraction_split(train.labels, config["labelled_fraction"], seed=config.get("split_seed", 0))
        train = train.subset(keep)
    cfg = TrainConfig(**config["train"], seed=config["seed"])
    device = cfg.resolved_device()
    seed_everything(config["seed"])
    model = build_model(config.get("arch", "resnet18"), 8, dropout=config.get("dropout", 0.0))
    loss = functools.partial(supervised_ce, label_smoothing=config.get("label_smoothing", 0.0))
    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device),
                 loss, cfg, num_classes=8, ckpt_dir=work_dir, progress=progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size,
                     flip_tta=cfg.flip_tta)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    return outcome(final_test_metrics(test.labels, logits), result, predictions, train, valid, test, noise)
