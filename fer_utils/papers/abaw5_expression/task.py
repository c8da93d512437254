"""The three models of the ABAW5 expression paper (paper 000) beyond the supervised baseline, as tasks:

* ``frozen_baseline`` — the organisers' recipe in spirit: a frozen backbone trained for another task (here
  action-unit detection on CK+48, since no VGGFace weights exist), three trainable FC layers, softmax;
* ``mutexmatch``      — semi-supervised MutexMatch (TPC + TNC) with the class-wise dynamic adaptive
  threshold of Eq. 4 (or MutexMatch's fixed threshold);
* ``noise_aware``     — SCN-style learned sample weights in a weighted CE over the samples the batch
  class-mean threshold keeps, plus attention-map consistency between the weak and the flipped strong view.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ...data import load_ckplus
from ...labels import labelled_fraction_split
from ...models import build_model
from ...tasks import task
from ...tasks.common import (FERPlusRecipe, block, data_root_for, final_test_metrics, load_ferplus_splits, outcome,
                             training_split)
from ...train import DeviceData, FitData, Method, TrainConfig, fit, predict, seed_everything
from .losses import (attention_consistency, batch_class_thresholds, clean_mask, confident_mask,
                     dynamic_adaptive_threshold, mutexmatch_losses, rank_regularization, weighted_ce)
from .models import FrozenFeatureClassifier, ImportanceNet, TwoHeadNet


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
    label_smoothing: float = 0.0       # L_sup's target smoothing (common recipe: 0.1)   paper: none

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
    warmup_epochs: int = 0             # plain CE on all samples first (Protocol 2: W)   paper: 0
    label_smoothing: float = 0.0       # CE target smoothing (common recipe: 0.1)        paper: none
    save_train_alpha: bool = False     # store every training image's importance (the chapter's AUC)
    train: TrainConfig = block(TrainConfig, TrainConfig(views=("weak", "flipped_strong")))


def _test_outcome(result, train, valid, test, noise, device, eval_batch_size, extra=None, flip_tta=False):
    logits = predict(result.model, torch.as_tensor(test.images).to(device), eval_batch_size, flip_tta=flip_tta)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names,
                   **(extra or {})}
    return outcome(final_test_metrics(test.labels, logits), result, predictions, train, valid, test, noise)


def pretrain_au_backbone(config: FrozenBaselineRecipe, device):
    """A backbone trained for a different task on data the book has: detecting the 23 FACS action units of
    CK+48 (multi-label, BCE). Returns the trained FERNet (its backbone is then frozen)."""
    ck = load_ckplus(data_root_for(config))
    cfg = dataclasses.replace(config.pretrain, device=str(device))
    seed_everything(config.seed + 20_000)
    model = build_model(config.arch, ck.aus.shape[1])
    data = DeviceData.from_record(ck, device, aus=ck.aus.astype(np.float32))
    fit(model, (data, None), Method(au_bce, num_classes=ck.aus.shape[1]), cfg, progress=False)
    return model


def au_bce(outputs, batch, epoch):
    """Multi-label BCE of the 23 CK+ action units (the frozen baseline's pretraining task)."""
    return F.binary_cross_entropy_with_logits(outputs.float(), batch["aus"])


def plain_ce(outputs, batch, epoch):
    """Cross-entropy without smoothing (the organisers' baseline head)."""
    return F.cross_entropy(outputs, batch["y"])


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
    result = fit(model, (DeviceData.from_record(train, device), DeviceData.from_record(valid, device)),
                 Method(plain_ce, num_classes=8), cfg, ckpt_dir=work_dir, progress=progress)
    return _test_outcome(result, train, valid, test, noise, device, cfg.eval_batch_size)


class MutexMatch(Method):
    """Paper 000 §2.3's step: one forward pass over [x_lb; u_w; u_s] (shared BatchNorm statistics, as the
    MutexMatch code) and the TPC + TNC losses (Eq. 1-3) at the epoch's class thresholds ``self.T`` (Eq. 4 from
    the model's predictions on the labelled set at the start of each epoch; above 1 during the warm-up, so no
    pseudo-label passes; a number for the fixed-threshold ablation)."""

    def __init__(self, config: MutexMatchRecipe, labelled: DeviceData, pool_truth: torch.Tensor | None = None):
        super().__init__(num_classes=8)
        self.config, self.labelled, self.pool_truth = config, labelled, pool_truth
        self.T: torch.Tensor | float | None = None
        device = labelled.images.device   # per epoch, by the class the weak view predicts: pseudo-labelled, seen,
        self.counts = {k: torch.zeros(8, device=device) for k in ("kept", "seen", "right", "known")}  # correct

    def on_epoch_start(self, model, epoch, history):
        c, device = self.config, self.labelled.images.device
        if c.threshold != "dat":
            self.T = float(c.threshold)
        elif epoch < c.dat_warmup_epochs:
            self.T = torch.full((8,), 1.01, device=device)    # warm-up: no pseudo-label passes
        else:
            probs = predict(model, self.labelled.images, c.train.eval_batch_size).softmax(1)
            self.T = dynamic_adaptive_threshold(probs, self.labelled.labels, 8, epoch - c.dat_warmup_epochs,
                                                c.dat_beta, c.dat_gamma)

    def forward(self, model, batch):
        b, u = len(batch["x"]), len(batch["u_weak"])
        tpc, tnc, tnc_sep = model(torch.cat([batch["x"], batch["u_weak"], batch["u_strong"]]), heads=True)
        return {"lb": tpc[:b], "uw": tpc[b:b + u], "us": tpc[b + u:], "neg_uw": tnc[b:b + u],
                "neg_us": tnc[b + u:], "neg_sep": tnc_sep[b:b + u]}

    def loss(self, out, batch, epoch):
        c = self.config
        t = mutexmatch_losses(out["lb"], batch["y"], out["uw"], out["us"], out["neg_uw"], out["neg_us"],
                              out["neg_sep"], self.T, k=c.k, lambda_u=c.lambda_u, label_smoothing=c.label_smoothing)
        self.count_pseudo_labels(out["uw"], batch.get("u_index"))
        return t["total"], {k: v for k, v in t.items() if k != "total"}

    @torch.no_grad()
    def count_pseudo_labels(self, logits_uw: torch.Tensor, u_index: torch.Tensor | None) -> None:
        """The DAT's mechanism signal: per class of the weak view's prediction, how many unlabelled faces pass
        the threshold, and (where the hidden majority label is known) how many of those are right."""
        p_w = torch.softmax(logits_uw.detach().float(), dim=1)
        pred = p_w.argmax(1)
        kept = confident_mask(p_w, self.T)
        self.counts["seen"] += torch.bincount(pred, minlength=8).float()
        self.counts["kept"] += torch.bincount(pred[kept], minlength=8).float()
        if self.pool_truth is not None and u_index is not None:
            truth = self.pool_truth[u_index]
            known = kept & (truth >= 0)
            self.counts["known"] += torch.bincount(pred[known], minlength=8).float()
            self.counts["right"] += torch.bincount(pred[known & (pred == truth)], minlength=8).float()

    def on_epoch_end(self, model, epoch, record):
        record["thresholds"] = self.T.tolist() if torch.is_tensor(self.T) else [self.T] * 8
        c = self.counts
        record["mask_rate_per_class"] = (c["kept"] / c["seen"].clamp_min(1)).tolist()
        record["pseudo_label_counts"] = c["kept"].tolist()
        record["pseudo_label_accuracy_per_class"] = (c["right"] / c["known"].clamp_min(1)).tolist()
        record["pseudo_label_accuracy"] = float(c["right"].sum() / c["known"].sum().clamp_min(1))
        for v in c.values():
            v.zero_()


@task("mutexmatch", MutexMatchRecipe)
def mutexmatch(config: MutexMatchRecipe, work_dir, progress: bool = True) -> dict:
    """MutexMatch with the dynamic adaptive threshold (paper 000 §2.3, Eq. 1-4). The labelled fraction of
    each class is kept; the rest joins the unlabelled pool with the images FER+ leaves unlabelled. The
    first ``dat_warmup_epochs`` epochs pseudo-label nothing (threshold above 1), so that Eq. 4 is first
    computed from a model that has learnt from the labels. One forward pass over [x_lb; u_w; u_s] shares
    BatchNorm statistics (as the MutexMatch code)."""
    train, valid, test = load_ferplus_splits(config)
    pool_unlabelled = train.subset(train.labels < 0)
    labelled, in_train, noise = training_split(train, config)
    majority = train.labels[in_train]                    # the hidden majority labels: pseudo-label accuracy only
    frac = config.labelled_fraction
    if frac < 1.0:
        keep, rest = labelled_fraction_split(labelled.labels, frac, seed=config.split_seed)
        pool = np.concatenate([pool_unlabelled.images, labelled.images[rest]])
        truth = np.concatenate([np.full(len(pool_unlabelled), -1), majority[rest]])
        labelled = labelled.subset(keep)
    else:
        pool, truth = pool_unlabelled.images, np.full(len(pool_unlabelled), -1)
    cfg = config.train
    device = cfg.resolved_device()
    seed_everything(config.seed)
    model = TwoHeadNet(8, config.arch, dropout=config.dropout)
    lab = DeviceData.from_record(labelled, device)
    unl = DeviceData(torch.as_tensor(pool).to(device), torch.full((len(pool),), -1, device=device))
    method = MutexMatch(config, lab, torch.as_tensor(truth, dtype=torch.long).to(device))
    result = fit(model, FitData(lab, DeviceData.from_record(valid, device), unl), method, cfg,
                 ckpt_dir=work_dir, progress=progress)
    out = _test_outcome(result, labelled, valid, test, noise, device, cfg.eval_batch_size, flip_tta=cfg.flip_tta)
    out["data"]["n_unlabelled"] = len(pool)
    return out


class NoiseAware(Method):
    """Paper 000 §2.4's step (Eq. 5-6): one pass over [weak; flipped strong]; after ``warmup_epochs`` of plain
    CE, the weighted CE over the samples the batch class-mean threshold keeps as clean, SCN's rank
    regularisation of alpha, and lambda x the consistency of the two views' class attention maps."""

    def __init__(self, config: NoiseAwareRecipe):
        super().__init__(num_classes=8)
        self.config = config

    def forward(self, model, batch):
        b = len(batch["weak"])
        logits, alpha, maps = model(torch.cat([batch["weak"], batch["flipped_strong"]]), return_all=True)
        return {"logits": logits[:b], "alpha": alpha[:b], "maps_weak": maps[:b], "maps_strong_flipped": maps[b:]}

    def loss(self, out, batch, epoch):
        c = self.config
        logits, alpha, y = out["logits"], out["alpha"], batch["y"]
        if epoch < c.warmup_epochs:   # W epochs of the common recipe's CE before any selection (Protocol 2)
            return F.cross_entropy(logits, y, label_smoothing=c.label_smoothing), {"clean_rate": 1.0}
        probs = torch.softmax(alpha.detach()[:, None] * logits.detach().float(), dim=1)
        mask = clean_mask(probs, y, batch_class_thresholds(probs))
        wce = weighted_ce(logits, alpha, y, mask, label_smoothing=c.label_smoothing)
        rr = rank_regularization(alpha, c.rr_beta, c.rr_margin)
        terms = {"wce": wce, "rr": rr, "clean_rate": mask.float().mean(), "alpha_mean": alpha.mean()}
        loss = wce + rr
        if c.consistency_weight:
            ac = attention_consistency(out["maps_weak"], out["maps_strong_flipped"])
            loss = loss + c.consistency_weight * ac
            terms["consistency"] = ac
        return loss, terms


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
    result = fit(model, (DeviceData.from_record(train, device), DeviceData.from_record(valid, device)),
                 NoiseAware(config), cfg, ckpt_dir=work_dir, progress=progress)
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
    return _test_outcome(result, train, valid, test, noise, device, cfg.eval_batch_size, extra, flip_tta=cfg.flip_tta)
