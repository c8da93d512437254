"""The fully supervised baseline: one network, cross-entropy (paper 000's fully supervised model)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from ..labels import labelled_fraction_split
from ..losses import supervised_ce
from ..models import build_model
from ..train import DeviceData, TrainConfig, fit, predict, seed_everything
from . import task
from .common import FERPlusRecipe, final_test_metrics, load_ferplus_splits, outcome, training_split


@dataclass(frozen=True)
class SupervisedRecipe(FERPlusRecipe):
    """The book's common supervised model (paper 000's fully supervised row)."""
    dropout: float = 0.5               # before the classifier                       paper 000: not stated
    label_smoothing: float = 0.0       # CE target smoothing epsilon                 paper 000: none
    labelled_fraction: float = 1.0     # of each class kept (scarce-label reference) paper 000: 1.0


# Budgets per profile. cpu: the recipe chosen on FER+ Valid by benchmarks/time_to_accuracy.py, and its epochs by
# the same benchmark's epoch sweep (12 -> 14: +0.8 points of Valid accuracy, within 5 training minutes; ch. 0).
#                    epochs  batch  optimiser             lr     schedule   weight decay  extra
BUDGETS = {
    "smoke": dict(train=dict(epochs=2, batch_size=32, steps_per_epoch=3, lr=5e-4, weight_decay=1e-4)),
    "cpu":   dict(train=dict(epochs=14, batch_size=128, optimizer="sgd", lr=0.1, momentum=0.9, schedule="onecycle",
                             weight_decay=5e-4, flip_tta=True), label_smoothing=0.1),
    "gpu":   dict(train=dict(epochs=30, batch_size=256, lr=5e-4, weight_decay=1e-4, compile=True)),
}


@task("supervised", SupervisedRecipe)
def supervised(r: SupervisedRecipe, work_dir, progress: bool = True) -> dict:
    """Fully supervised training with cross-entropy on FER+ (majority or noisy training labels; optionally
    only a labelled fraction of each class, the scarce-label reference for the semi-supervised methods)."""
    train, valid, test = load_ferplus_splits(r)
    train, _, noise = training_split(train, r)
    if r.labelled_fraction < 1.0:  # scarce labels: keep a fraction of every class, drop the rest
        keep, _ = labelled_fraction_split(train.labels, r.labelled_fraction, seed=r.split_seed)
        train = train.subset(keep)
    cfg: TrainConfig = r.train
    device = cfg.resolved_device()
    seed_everything(r.seed)
    model = build_model(r.arch, 8, dropout=r.dropout)
    loss = functools.partial(supervised_ce, label_smoothing=r.label_smoothing)
    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device),
                 loss, cfg, num_classes=8, ckpt_dir=work_dir, progress=progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size,
                     flip_tta=cfg.flip_tta)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    return outcome(final_test_metrics(test.labels, logits), result, predictions, train, valid, test, noise)
