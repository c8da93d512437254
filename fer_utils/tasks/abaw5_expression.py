"""The three models of the ABAW5 expression paper (paper 000) beyond the supervised baseline, as tasks:

* ``frozen_baseline`` — the organisers' recipe in spirit: a frozen backbone trained for another task (here
  action-unit detection on CK+48, since no VGGFace weights exist), three trainable FC layers, softmax;
* ``mutexmatch``      — semi-supervised MutexMatch (TPC + TNC) with the class-wise dynamic adaptive
  threshold of Eq. 4 (or MutexMatch's fixed threshold);
* ``noise_aware``     — SCN-style learned sample weights in a weighted CE over the samples the batch
  class-mean threshold keeps, plus attention-map consistency between the weak and the flipped strong view.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data import load_ckplus
from ..labels import labelled_fraction_split
from ..losses import (attention_consistency, batch_class_thresholds, clean_mask, dynamic_adaptive_threshold,
                      mutexmatch_losses, rank_regularization, weighted_ce)
from ..models import FrozenFeatureClassifier, ImportanceNet, TwoHeadNet, build_model
from ..train import DeviceData, TrainConfig, fit, predict, seed_everything
from . import task
from .common import (FERPlusRecipe, block, data_root_for, final_test_metrics, load_ferplus_splits, outcome,
                     training_split)


@dataclass(frozen=True)
class FrozenBaselineRecipe(FERPlusRecipe):
    """Paper 000 §2.1: frozen features + three FC layers + softmax."""
    dropout: float = 0.5               # in the three FC layers                          paper: not stated
    pretrain: TrainConfig = block(TrainConfig, TrainConfig())  # the CK+ AU detector whose backbone is frozen


@dataclass(frozen=True)
class MutexMatchRecipe(FERPlusRecipe):
    """Paper 000 §2.3: MutexMatch (TPC + TNC) with the dynamic adaptive threshold (Eq. 1-4)."""
    labelled_fraction: float = 1.0     # of each class labelled; the rest joins the unlabelled pool  paper: 1.0
    threshold: str | float = "dat"     # "dat" (Eq. 4) or a fixed confidence tau         paper: "dat"; MutexMatch: 0.95
    dat_beta: float = 0.95             # beta of Eq. 4                                   paper: 0.95
    dat_gamma: float = float(np.e)     # gamma of Eq. 4 (1 + gamma^-t)                   paper: e
    dat_warmup_epochs: int = 1         # supervised-only epochs before the first Eq. 4 threshold  paper: none (ch. 1)
    k: int | None = None               # top-k of the negative loss L_n (None: all C)    MutexMatch: C
    lambda_u: float = 1.0              # weight of the unlabelled terms                  paper: 1

    def check(self, where):
        super().check(where)
        if self.threshold != "dat" and not isinstance(self.threshold, (int, float)):
            raise ValueError(f"run config {where}: threshold={self.threshold!r}: expected 'dat' or a number")


@dataclass(frozen=True)
class NoiseAwareRecipe(FERPlusRecipe):
    """Paper 000 §2.4: SCN-style importance weights + attention consistency (Eq. 5-6)."""
    consistency_weight: float = 1.0    # lambda of L_AC (0: off, the ablation)           paper: 1 (not stated)
    rr_beta: float = 0.7               # fraction of the batch in the high-importance group  SCN: 0.7
    rr_margin: float = 0.15            # rank-regularisation margin                      SCN: 0.15
    warmup_epochs: int = 0             # plain CE on all samples first                   paper: 0
    save_train_alpha: bool = False     # store every training image's importance (the chapter's AUC)
    train: TrainConfig = block(TrainConfig, TrainConfig(views=("weak", "flipped_strong")))


# Budgets per profile. Every row of Table 1 and of the scarce-label table trains for the same optimiser steps
# (epochs x steps_per_epoch) on the same labelled images per step (batch_size); each method keeps its own
# optimiser. MutexMatch adds mu x batch_size unlabelled images per step; the noise-aware model sees two views.
#   cpu: 8 x 100 steps of 64 labelled faces (51,200 labelled images, 1.8 FER+ epochs); gpu: 20 x 100 of 128.
def _equal(epochs, steps, batch, **extra):
    return dict(epochs=epochs, steps_per_epoch=steps, batch_size=batch, **extra)


_TINY = dict(epochs=2, batch_size=8, steps_per_epoch=1, lr=5e-4, weight_decay=1e-4)
BUDGETS = {
    "smoke": dict(seeds=[0], fractions=[0.25], steps=2, batch_size=8,
                  supervised=dict(_TINY), frozen=_TINY, pretrain=dict(_TINY, epochs=1),
                  mutexmatch=dict(_TINY, mu=2), noise_aware=dict(_TINY, lr=1e-4)),
    "cpu":   dict(seeds=[0, 1, 2], fractions=[0.1, 0.25], steps=800, batch_size=64,
                  supervised=_equal(8, 100, 64, optimizer="sgd", lr=0.05, momentum=0.9, schedule="onecycle",
                                    weight_decay=5e-4, flip_tta=True),
                  frozen=_equal(8, 100, 64, lr=1e-3, weight_decay=1e-4),
                  pretrain=dict(epochs=30, batch_size=64, lr=1e-3, weight_decay=1e-4),
                  mutexmatch=_equal(8, 100, 64, mu=3, lr=5e-4, weight_decay=1e-4),
                  noise_aware=_equal(8, 100, 64, lr=1e-4, weight_decay=1e-4)),
    "gpu":   dict(seeds=[0, 1, 2], fractions=[0.1, 0.25], steps=2000, batch_size=128,
                  supervised=_equal(20, 100, 128, lr=5e-4, weight_decay=1e-4, compile=True),
                  frozen=_equal(20, 100, 128, lr=1e-3, weight_decay=1e-4, compile=True),
                  pretrain=dict(epochs=40, batch_size=128, lr=1e-3, weight_decay=1e-4, compile=True),
                  mutexmatch=_equal(20, 100, 128, mu=3, lr=5e-4, weight_decay=1e-4, compile=True),
                  noise_aware=_equal(20, 100, 128, lr=1e-4, weight_decay=1e-4, compile=True)),
}


def _test_outcome(result, train, valid, test, noise, device, eval_batch_size, extra=None):
    logits = predict(result.model, torch.as_tensor(test.images).to(device), eval_batch_size)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names,
                   **(extra or {})}
    return outcome(final_test_metrics(test.labels, logits), result, predictions, train, valid, test, noise)


def pretrain_au_backbone(config: FrozenBaselineRecipe, device):
    """A backbone trained for a different task on data the book has: detecting the 23 FACS action units of
    CK+48 (multi-label, BCE). Returns the trained FERNet (its backbone is then frozen)."""
    import dataclasses
    ck = load_ckplus(data_root_for(config))
    cfg = dataclasses.replace(config.pretrain, device=str(device))
    seed_everything(config.seed + 20_000)
    model = build_model(config.arch, ck.aus.shape[1])
    data = DeviceData.from_record(ck, device, aus=ck.aus.astype(np.float32))
    fit(model, data, None, lambda out, batch, epoch: F.binary_cross_entropy_with_logits(out.float(), batch["aus"]),
        cfg, num_classes=ck.aus.shape[1], progress=False)
    return model


@task("frozen_baseline", FrozenBaselineRecipe)
def frozen_baseline(config: FrozenBaselineRecipe, work_dir, progress: bool = True) -> dict:
    """Paper 000 §2.1 in spirit: frozen features (CK+ AU detector) + three FC layers + softmax, CE on FER+."""
    train, valid, test = load_ferplus_splits(config)
    train, _, noise = training_split(train, config)
    cfg = config.train
    device = cfg.resolved_device()
    body = pretrain_au_backbone(config, device)
    seed_everything(config.seed)
    model = FrozenFeatureClassifier(body.backbone, body.feature_dim, 8, dropout=config.dropout)
    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device),
                 lambda out, batch, epoch: F.cross_entropy(out, batch["y"]), cfg, num_classes=8,
                 ckpt_dir=work_dir, progress=progress)
    return _test_outcome(result, train, valid, test, noise, device, cfg.eval_batch_size)


@task("mutexmatch", MutexMatchRecipe)
def mutexmatch(config: MutexMatchRecipe, work_dir, progress: bool = True) -> dict:
    """MutexMatch with the dynamic adaptive threshold (paper 000 §2.3, Eq. 1-4). The labelled fraction of
    each class is kept; the rest joins the unlabelled pool with the images FER+ leaves unlabelled. The
    first ``dat_warmup_epochs`` epochs pseudo-label nothing (threshold above 1), so that Eq. 4 is first
    computed from a model that has learnt from the labels. One forward pass over [x_lb; u_w; u_s] shares
    BatchNorm statistics (as the MutexMatch code)."""
    train, valid, test = load_ferplus_splits(config)
    pool_unlabelled = train.subset(train.labels < 0)
    labelled, _, noise = training_split(train, config)
    frac = config.labelled_fraction
    if frac < 1.0:
        keep, rest = labelled_fraction_split(labelled.labels, frac, seed=config.split_seed)
        pool = np.concatenate([pool_unlabelled.images, labelled.images[rest]])
        labelled = labelled.subset(keep)
    else:
        pool = pool_unlabelled.images
    cfg = config.train
    device = cfg.resolved_device()
    seed_everything(config.seed)
    model = TwoHeadNet(8, config.arch, dropout=config.dropout)
    lab = DeviceData.from_record(labelled, device)
    unl = DeviceData(torch.as_tensor(pool).to(device), torch.full((len(pool),), -1, device=device))
    threshold = config.threshold
    state = {"T": None}

    def on_epoch_start(m, epoch, history):
        """Eq. 4 from the model's performance on the labelled set after ``epoch`` completed epochs."""
        if threshold != "dat":
            state["T"] = float(threshold)
        elif epoch < config.dat_warmup_epochs:
            state["T"] = torch.full((8,), 1.01, device=device)    # warm-up: no pseudo-label passes
        else:
            probs = predict(m, lab.images, cfg.eval_batch_size).softmax(1)
            state["T"] = dynamic_adaptive_threshold(probs, lab.labels, 8, epoch - config.dat_warmup_epochs,
                                                    config.dat_beta, config.dat_gamma)

    def forward_fn(m, batch):
        b, u = len(batch["x"]), len(batch["u_weak"])
        tpc, tnc, tnc_sep = m(torch.cat([batch["x"], batch["u_weak"], batch["u_strong"]]), heads=True)
        return {"lb": tpc[:b], "uw": tpc[b:b + u], "us": tpc[b + u:], "neg_uw": tnc[b:b + u],
                "neg_us": tnc[b + u:], "neg_sep": tnc_sep[b:b + u]}

    def loss_fn(out, batch, epoch):
        t = mutexmatch_losses(out["lb"], batch["y"], out["uw"], out["us"], out["neg_uw"], out["neg_us"],
                              out["neg_sep"], state["T"], k=config.k, lambda_u=config.lambda_u)
        return t["total"], {k: v for k, v in t.items() if k != "total"}

    def on_epoch_end(m, epoch, record):
        t = state["T"]
        record["thresholds"] = t.tolist() if torch.is_tensor(t) else [t] * 8

    result = fit(model, lab, DeviceData.from_record(valid, device), loss_fn, cfg, num_classes=8,
                 forward_fn=forward_fn, on_epoch_start=on_epoch_start, on_epoch_end=on_epoch_end,
                 unlabelled=unl, ckpt_dir=work_dir, progress=progress)
    out = _test_outcome(result, labelled, valid, test, noise, device, cfg.eval_batch_size)
    out["data"]["n_unlabelled"] = len(pool)
    return out


@task("noise_aware", NoiseAwareRecipe)
def noise_aware(config: NoiseAwareRecipe, work_dir, progress: bool = True) -> dict:
    """The noise-aware model (paper 000 §2.4, Eq. 5-6): L = L_WCE(clean samples) + L_RR + lambda L_AC.
    The views are the weak view and the pixel-aligned flipped strong view (the recipe's train.views)."""
    train, valid, test = load_ferplus_splits(config)
    clean_labels = train.labels
    train, keep, noise = training_split(train, config)
    cfg = config.train
    device = cfg.resolved_device()
    seed_everything(config.seed)
    model = ImportanceNet(8, config.arch, dropout=config.dropout)
    lam = config.consistency_weight

    def forward_fn(m, batch):
        b = len(batch["weak"])
        logits, alpha, maps = m(torch.cat([batch["weak"], batch["flipped_strong"]]), return_all=True)
        return {"logits": logits[:b], "alpha": alpha[:b], "maps_weak": maps[:b], "maps_strong_flipped": maps[b:]}

    def loss_fn(out, batch, epoch):
        logits, alpha, y = out["logits"], out["alpha"], batch["y"]
        if epoch < config.warmup_epochs:
            return F.cross_entropy(logits, y), {"clean_rate": 1.0}
        probs = torch.softmax(alpha.detach()[:, None] * logits.detach().float(), dim=1)
        mask = clean_mask(probs, y, batch_class_thresholds(probs))
        wce = weighted_ce(logits, alpha, y, mask)
        rr = rank_regularization(alpha, config.rr_beta, config.rr_margin)
        terms = {"wce": wce, "rr": rr, "clean_rate": mask.float().mean(), "alpha_mean": alpha.mean()}
        loss = wce + rr
        if lam:
            ac = attention_consistency(out["maps_weak"], out["maps_strong_flipped"])
            loss = loss + lam * ac
            terms["consistency"] = ac
        return loss, terms

    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device), loss_fn, cfg,
                 num_classes=8, forward_fn=forward_fn, ckpt_dir=work_dir, progress=progress)
    # class attention maps of a few test faces (the first of each class), for the chapter's figure
    faces = np.array([np.flatnonzero(test.labels == c)[0] for c in range(8) if (test.labels == c).any()])
    cams = predict(result.model, torch.as_tensor(test.images[faces]).to(device), cfg.eval_batch_size,
                   forward=lambda m, x: m(x, return_all=True)[2].flatten(1))
    extra = {"cam_index": faces.astype(np.int32), "cam_maps": cams.view(len(faces), 8, -1).cpu().numpy().astype(np.float16)}
    if config.save_train_alpha:  # the learned importance of every training image (no augmentation)
        alpha = predict(result.model, torch.as_tensor(train.images).to(device), cfg.eval_batch_size,
                        forward=lambda m, x: m(x, return_all=True)[1][:, None])[:, 0]
        extra |= {"train_index": keep.astype(np.int32), "train_label": train.labels.astype(np.int8),
                 "train_majority": clean_labels[keep].astype(np.int8),
                 "train_alpha": alpha.cpu().numpy().astype(np.float16)}
    return _test_outcome(result, train, valid, test, noise, device, cfg.eval_batch_size, extra)
