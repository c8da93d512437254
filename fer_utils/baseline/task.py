"""Chapter 0's common recipe as a task: one network, cross-entropy with label smoothing (paper 000's fully
supervised model, and every chapter's single-network baseline)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from ..labels import labelled_fraction_split
from ..losses import supervised_ce
from ..models import build_model
from ..tasks import task
from ..tasks.common import FERPlusRecipe, final_test_metrics, load_ferplus_splits, outcome, training_split
from ..train import DeviceData, Method, TrainConfig, fit, predict, seed_everything


@dataclass(frozen=True)
class SupervisedRecipe(FERPlusRecipe):
    """The book's common supervised model (paper 000's fully supervised row)."""
    dropout: float = 0.5               # before the classifier                       paper 000: not stated
    label_smoothing: float = 0.0       # CE target smoothing epsilon                 paper 000: none
    labelled_fraction: float = 1.0     # of each class kept (scarce-label reference) paper 000: 1.0


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
    method = Method(functools.partial(supervised_ce, label_smoothing=r.label_smoothing), num_classes=8)
    result = fit(model, (DeviceData.from_record(train, device), DeviceData.from_record(valid, device)),
                 method, cfg, ckpt_dir=work_dir, progress=progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size,
                     flip_tta=cfg.flip_tta)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    return outcome(final_test_metrics(test.labels, logits), result, predictions, train, valid, test, noise)
