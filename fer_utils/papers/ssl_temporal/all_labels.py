"""Paper 002's spatial phase (teacher/student with debiased feedback, Eq. 1-6) trained on all of FER+'s
labels, for chapter 6's one-protocol leaderboard.

Chapter 3 trains the method where it was designed to work: 10% of the labels, the other 90% of FER+ train
as the unlabelled pool. With all the labels, chapter 3's pool would shrink to the 181 faces that have no
majority label (plus CK+'s posed faces for the "more data" setting): the student, which learns only from the
teacher's pseudo-labels on the pool, would hardly see an in-the-wild face. This task uses FixMatch's
convention instead (Sohn et al. 2020; also USB's): **every FER+ train face enters the unlabelled stream with
its label hidden**, labelled or not, plus CK+ when ``unlabelled="ferplus+ckplus"``. The teacher still sees
the labels through its class-balanced labelled batch (L_s, Eq. 3). The training loop is chapter 3's
``ssl_temporal.spatial_phase``, unchanged; there is no temporal phase.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...data import load_ckplus
from ...labels import labelled_fraction_split
from ...tasks import task
from ...tasks.common import data_root_for, final_test_metrics, load_ferplus_splits, outcome, training_split
from ...train import predict
from .task import SSLTemporalRecipe, spatial_phase


@dataclass(frozen=True)
class SSLAllLabelsRecipe(SSLTemporalRecipe):
    """Chapter 3's recipe (``SSLTemporalRecipe``) with all the labels by default; the spatial phase only."""
    labelled_fraction: float = 1.0     # of each class labelled                           paper: all of its labels

    def check(self, where):
        super().check(where)
        if self.temporal is not None:
            raise ValueError(f"run config {where}: temporal={self.temporal!r}: task 'ssl_all_labels' trains the "
                             "spatial phase only; expected no temporal block (chapter 3's task 'ssl_temporal' has one)")
        if self.video != "ferplus_clips":
            raise ValueError(f"run config {where}: video={self.video!r}: task 'ssl_all_labels' trains on FER+; "
                             "expected 'ferplus_clips' (Aff-Wild2 runs use task 'ssl_temporal')")


def hidden_label_pool_data(config: SSLAllLabelsRecipe):
    """(labelled FaceData (the labelled fraction of the training labels), valid, test, unlabelled images,
    their hidden majority labels (-1: none, or a CK+ face), NoiseReport). The unlabelled images are every
    FER+ train face, each once, labelled or not (FixMatch's convention), then CK+'s faces with
    ``unlabelled="ferplus+ckplus"``. The hidden labels only measure the pseudo-labels' accuracy."""
    train, valid, test = load_ferplus_splits(config)
    labelled, _, noise = training_split(train, config)
    keep, _ = labelled_fraction_split(labelled.labels, config.labelled_fraction, seed=config.split_seed)
    pool, truth = [train.images], [train.labels]
    if config.unlabelled == "ferplus+ckplus":
        ck = load_ckplus(data_root_for(config))
        pool.append(ck.images)
        truth.append(np.full(len(ck), -1))
    return labelled.subset(keep), valid, test, np.concatenate(pool), np.concatenate(truth), noise


@task("ssl_all_labels", SSLAllLabelsRecipe)
def ssl_all_labels(config: SSLAllLabelsRecipe, work_dir, progress: bool = True) -> dict:
    """Paper 002's spatial phase on the hidden-label pool; the student is tested on FER+ Test."""
    labelled, valid, test, pool, truth, noise = hidden_label_pool_data(config)
    cfg = config.train
    device = cfg.resolved_device()
    result = spatial_phase(config, labelled, valid, pool, truth, cfg, device, work_dir, progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels}
    out = outcome(final_test_metrics(test.labels, logits), result, predictions, labelled, valid, test, noise)
    out["data"]["n_unlabelled"] = int(len(pool))
    out["data"]["n_unlabelled_with_hidden_label"] = int((truth >= 0).sum())
    return out
