"""Paper 004 (ABAW5 multi-task) as tasks:

* ``expression_subclassifier`` — one sub-classifier of the expression ensemble (§3): a backbone trained with
  CE + lambda * soft Dice on FER+ (all training data, or a bootstrap resample); scheme 2 trains without the
  class that plays 'Other' (FER+ contempt). The meta-classifier (priority rules) only combines stored
  predictions, so the chapter computes it from the sub-classifiers' runs.
* ``au_temporal`` — action units (§4) on CK+48 with its FACS table, the 12 ABAW AUs: a backbone trained on
  FER+ expressions gives frozen frame features; the three-pipeline temporal model (method notes A11) runs
  over each CK+ sequence's frames with the sigmoid focal loss, in 10 subject-independent folds; beside it the
  per-frame baseline (``models.AUFrameNet``: the same features, folds, loss and optimiser, no time).
* ``va_fusion`` — valence/arousal (§2): three backbones trained on expressions give frozen features, which
  are concatenated; polarity classifiers (Eq. 1) first, then the valence and arousal heads with the CCC loss
  (Eq. 2), the valence head's hidden features fed to the arousal head. Targets: the DERIVED FER+ stand-in
  (``labels.va_from_votes``), or real AffectNet / Aff-Wild2 valence-arousal for a reader who has the data.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...data import DataError, load_abaw, load_affectnet, load_ckplus
from ...labels import ABAW_AUS, FERPLUS_CLASSES, expected_va, stratified_holdout, subject_kfold, va_from_votes
from ...losses import supervised_ce
from ...metrics import accuracy, au_f1, ccc, macro_f1
from ...models import build_model
from ...tasks import task
from ...tasks.common import (FERPlusRecipe, Recipe, block, data_root_for, final_test_metrics, load_ferplus_splits,
                             outcome, require, training_split)
from ...train import DeviceData, Method, TrainConfig, fit, frame_features, predict, seed_everything
from .ensemble import choose_other_threshold, predict_other_below
from .members import MEMBERS, build_member
from .losses import ccc_loss, ce_dice_loss, polarity_labels, sigmoid_focal_loss
from .models import AUFrameNet, AUTemporalNet, VAModel, va_predict

OTHER = FERPLUS_CLASSES.index("contempt")  # contempt plays ABAW's 'Other' (the rarest FER+ class)


@dataclass(frozen=True)
class SubclassifierRecipe(FERPlusRecipe):
    """Paper 004 §3: one expression sub-classifier, CE + lambda soft Dice."""
    dice: bool = True                  # CE + lam * Dice (False: CE alone, the ablation)  paper: True
    lam: float = 1.0                   # weight of the Dice term                          paper: 1
    scheme: str = "8way"               # "8way" | "no_other" (scheme 2: 'Other' below a threshold)  paper: both
    bootstrap: bool = False            # resample the training set with replacement (bagging)  paper: True
    label_smoothing: float = 0.0       # CE target smoothing (the common recipe: 0.1)     paper: 0

    def check(self, where):
        if self.arch in MEMBERS:   # an ensemble member of members.py: the base check knows fer_utils.models only
            super(SubclassifierRecipe, dataclasses.replace(self, arch="resnet18")).check(where)
        else:
            super().check(where)
        if self.scheme not in ("8way", "no_other"):
            raise ValueError(f"run config {where}: scheme={self.scheme!r}: expected '8way' or 'no_other'")


@dataclass(frozen=True)
class AUModelSpec:
    """Paper 004 §4 (method notes A11): the three-pipeline temporal AU model."""
    epochs: int = 20                   # per fold                                         cited code: 20
    batch_size: int = 16               # sequences per step                               cited code: 16
    lr: float = 1e-3                   # AdamW                                            paper: not stated
    weight_decay: float = 1e-2
    heads: int = 8
    layers: int = 2                    # Transformer layers                               paper: 2
    ff: int = 512
    dropout: float = 0.3               #                                                  paper: 0.3


@dataclass(frozen=True)
class AUTemporalRecipe(Recipe):
    """Paper 004 §4 on CK+48's FACS labels: frozen expression features -> temporal AU model, focal loss."""
    arch: str = "resnet50"             # the feature backbone (trained on FER+ expressions first)
    pretrain: TrainConfig = block(TrainConfig, TrainConfig())
    au_model: AUModelSpec = block(AUModelSpec, AUModelSpec())
    au_width: int | None = None        # project the features to this width first (None: as they are)
    label_smoothing: float = 0.0       # the backbone's CE target smoothing (the common recipe: 0.1)
    dropout: float = 0.0               # before the backbone's classifier (the common recipe: 0.5)
    alpha: float = 0.75                # focal loss alpha                                 paper: 0.75
    gamma: float = 2.0                 # focal loss gamma                                 paper: 2
    folds: int = 10                    # subject-independent CK+ folds
    split_seed: int = 0


@dataclass(frozen=True)
class VAHeadSpec:
    """Paper 004 §2.3: the polarity classifiers and the valence/arousal heads on fused features."""
    epochs: int = 50
    batch_size: int = 256              # the CCC statistics are per batch                 paper: not stated
    lr: float = 1e-4                   # Adam                                             paper: 1e-4
    hidden: int = 256
    dropout: float = 0.1
    polarity_epochs: int | None = None  # None: as many as the heads


@dataclass(frozen=True)
class VAFusionRecipe(Recipe):
    """Paper 004 §2: three frozen backbones fused, polarity classifiers (Eq. 1), CCC-trained heads (Eq. 2)."""
    archs: tuple = ("resnet50", "regnet_y_400mf", "efficientnet_b0")   # method notes B-004.2
    pretrain: TrainConfig = block(TrainConfig, TrainConfig())
    heads: VAHeadSpec = block(VAHeadSpec, VAHeadSpec())
    va_source: str = "ferplus_votes"   # "ferplus_votes" (DERIVED stand-in) | "affectnet" | "affwild2"
    affectnet_root: str | None = None  # the folder holding Manually_Annotated_file_lists/ and ..._Images/
    affwild2_root: str | None = None   # the folder holding the ABAW annotations and cropped_aligned/
    split_seed: int = 0

    def check(self, where):
        super().check(where)
        if self.va_source not in ("ferplus_votes", "affectnet", "affwild2"):
            raise ValueError(f"run config {where}: va_source={self.va_source!r}: expected 'ferplus_votes', "
                             "'affectnet' or 'affwild2'")


@task("expression_subclassifier", SubclassifierRecipe)
def expression_subclassifier(config: SubclassifierRecipe, work_dir, progress: bool = True) -> dict:
    """One sub-classifier: CE + lambda Dice (or CE alone) on FER+; scheme "no_other" leaves contempt out of
    training and predicts it below a threshold chosen here on FER+ Valid (stored with the run); bootstrap
    resamples the training set with replacement (seeded)."""
    train, valid, test = load_ferplus_splits(config)
    train, _, noise = training_split(train, config)
    if config.scheme == "no_other":
        train = train.subset(train.labels != OTHER)
    if config.bootstrap:
        rng = np.random.default_rng(config.seed + 40_000)
        train = train.subset(rng.integers(0, len(train), len(train)))
    cfg = config.train
    device = cfg.resolved_device()
    seed_everything(config.seed)
    model = build_member(config.arch, 8, dropout=config.dropout)
    eps = config.label_smoothing
    loss = ((lambda out, batch, epoch: ce_dice_loss(out, batch["y"], 8, config.lam, label_smoothing=eps))
            if config.dice else functools.partial(supervised_ce, label_smoothing=eps))
    result = fit(model, (DeviceData.from_record(train, device), DeviceData.from_record(valid, device)),
                 Method(loss, num_classes=8), cfg, ckpt_dir=work_dir, progress=progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size,
                     flip_tta=cfg.flip_tta)
    valid_logits = predict(result.model, torch.as_tensor(valid.images).to(device), cfg.eval_batch_size,
                           flip_tta=cfg.flip_tta)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names,
                   "valid_logits": valid_logits.cpu().numpy().astype(np.float16), "valid_labels": valid.labels}
    final = final_test_metrics(test.labels, logits)
    if config.scheme == "no_other":   # scheme 2: the threshold is chosen on FER+ Valid (B-004.4)
        thr, scores = choose_other_threshold(valid_logits.float().softmax(1).cpu(), valid.labels, OTHER)
        pred = predict_other_below(logits.softmax(1).cpu(), OTHER, thr).numpy()
        keep = test.labels >= 0
        final["other_threshold"] = thr
        final["other_valid_macro_f1"] = {str(k): v for k, v in scores.items()}
        final["scheme2"] = {"macro_f1": macro_f1(test.labels[keep], pred[keep], 8),
                            "accuracy": accuracy(test.labels[keep], pred[keep])}
        predictions["scheme2_pred"] = pred.astype(np.int8)
    out = outcome(final, result, predictions, train, valid, test, noise)
    out["data"]["n_distinct_train"] = int(len(np.unique(train.names)))
    return out


def ckplus_sequences(ck) -> np.ndarray:
    """CK+48's frames grouped by sequence, in file-name (frame) order: (n_sequences, frames) indices."""
    groups = {}
    for i in np.argsort(ck.names, kind="stable"):
        groups.setdefault(ck.sequences[i], []).append(i)
    lengths = {len(v) for v in groups.values()}
    if len(lengths) != 1:
        raise ValueError(f"CK+ sequences have different numbers of frames {sorted(lengths)}: expected one length")
    return np.array(list(groups.values()))


@task("au_temporal", AUTemporalRecipe)
def au_temporal(config: AUTemporalRecipe, work_dir, progress: bool = True) -> dict:
    """Paper 004 §4 on CK+48: a backbone trained on FER+ expressions (majority labels) gives frozen frame
    features; the temporal AU model trains on each fold's training sequences with the sigmoid focal loss
    (through ``fit``, the last epoch kept: no validation split inside a fold). The per-frame baseline
    (``AUFrameNet``) trains on the same fold, features, batches, loss and optimiser. Scores: per-AU F1 at
    threshold 0.5 over the held-out predictions of all folds, for both models."""
    train, valid, _ = load_ferplus_splits(config)
    cfg = config.pretrain
    device = cfg.resolved_device()
    seed_everything(config.seed)
    backbone = build_model(config.arch, 8, dropout=config.dropout)
    result = fit(backbone, (DeviceData.from_record(train, device), DeviceData.from_record(valid, device)),
                 Method(functools.partial(supervised_ce, label_smoothing=config.label_smoothing), num_classes=8),
                 cfg, ckpt_dir=work_dir, progress=progress)
    ck = load_ckplus(data_root_for(config))
    au_idx = [ck.au_names.index(a) for a in ABAW_AUS]
    aus = ck.aus[:, au_idx].astype(np.int64)                                   # (N, 12), -1 = unknown
    feats, _ = frame_features(result.model, torch.as_tensor(ck.images).to(device))
    seqs = ckplus_sequences(ck)                                                # (S, T)
    x_all = feats[torch.as_tensor(seqs).to(device)].float()                    # (S, T, D)
    y_all = torch.as_tensor(aus[seqs]).to(device)                              # (S, T, 12)
    folds = subject_kfold(ck.subjects[seqs[:, 0]], config.folds, seed=config.split_seed)
    a = config.au_model
    probs = np.zeros(aus.shape, dtype=np.float32)
    frame_probs = np.zeros(aus.shape, dtype=np.float32)                       # the per-frame baseline
    fold_of_frame = np.zeros(len(ck), dtype=np.int64)
    fold_history = []

    def loss_fn(out, batch, epoch):                                            # (L_fusion + L_1 + L_2 + L_3) / 4
        return sum(sigmoid_focal_loss(out[k], batch["aus"], config.alpha, config.gamma)
                   for k in ("fused", "p1", "p2", "p3")) / 4

    def frame_loss_fn(out, batch, epoch):                                      # the same focal loss, per frame
        return sigmoid_focal_loss(out, batch["aus"], config.alpha, config.gamma)

    for f in range(config.folds):
        tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        seed_everything(config.seed * 100 + f)
        net = AUTemporalNet(x_all.shape[-1], len(ABAW_AUS), a.heads, a.layers, a.ff, a.dropout,
                            max_len=seqs.shape[1], width=config.au_width)
        idx = torch.as_tensor(tr).to(device)
        data = DeviceData(x_all[idx], torch.zeros(len(tr), dtype=torch.long, device=device), {"aus": y_all[idx]})
        fold_cfg = TrainConfig(epochs=a.epochs, batch_size=min(a.batch_size, len(tr)), lr=a.lr,
                               weight_decay=a.weight_decay, optimizer="adamw", schedule="none", views=(),
                               seed=config.seed * 100 + f, device=str(device))
        fold_fit = fit(net, (data, None), Method(loss_fn, num_classes=len(ABAW_AUS)), fold_cfg, progress=False)
        net.eval()
        with torch.no_grad():
            p = torch.sigmoid(net(x_all[torch.as_tensor(te).to(device)])["fused"]).cpu().numpy()
        probs[seqs[te].reshape(-1)] = p.reshape(-1, len(ABAW_AUS))
        seed_everything(config.seed * 100 + f)
        frame_net = AUFrameNet(x_all.shape[-1], len(ABAW_AUS), width=config.au_width)
        fit(frame_net, (data, None), Method(frame_loss_fn, num_classes=len(ABAW_AUS)), fold_cfg, progress=False)
        frame_net.eval()
        with torch.no_grad():
            p = torch.sigmoid(frame_net(x_all[torch.as_tensor(te).to(device)])).cpu().numpy()
        frame_probs[seqs[te].reshape(-1)] = p.reshape(-1, len(ABAW_AUS))
        fold_of_frame[seqs[te].reshape(-1)] = f
        fold_history.append({"fold": f, "train_loss": [h["train_loss"] for h in fold_fit.history]})
    # the probabilities are stored as float16: the scores are computed from exactly what is stored, so that
    # a probability just under 0.5 that rounds to 0.5 counts the same here and in any later reading
    probs, frame_probs = probs.astype(np.float16), frame_probs.astype(np.float16)
    per_au = au_f1(aus, (probs.astype(np.float32) >= 0.5).astype(np.int64))
    frame_per_au = au_f1(aus, (frame_probs.astype(np.float32) >= 0.5).astype(np.int64))
    known = (aus >= 0).all(1)
    final = {"mean_au_f1": float(per_au.mean()), "per_au_f1": dict(zip(ABAW_AUS, map(float, per_au))),
             "au_frequency": dict(zip(ABAW_AUS, map(float, (aus[known] == 1).mean(0)))),
             "n_frames": int(known.sum()), "n_sequences": int(len(seqs)), "feature_dim": int(x_all.shape[-1]),
             "frame_mean_au_f1": float(frame_per_au.mean()),
             "frame_per_au_f1": dict(zip(ABAW_AUS, map(float, frame_per_au))),
             "backbone_valid_macro_f1": result.best_score, "macro_f1": float(per_au.mean())}
    predictions = {"au_probs": probs, "au_probs_frame": frame_probs,
                   "au_labels": aus.astype(np.int8), "names": ck.names,
                   "fold": fold_of_frame.astype(np.int8)}
    return {"final": final, "history": result.history, "best_epoch": result.best_epoch, "predictions": predictions,
            "train_seconds": result.train_seconds, "images_per_s": result.images_per_s, "fold_history": fold_history,
            "data": {"source": ck.source_name, "n_train": len(train), "n_ckplus": len(ck)}}


# --------------------------------------------------------------------------- valence/arousal (§2)

VA_DIMS = ("valence", "arousal")


def _with_va(d, va):
    return dataclasses.replace(d, va=np.asarray(va, dtype=np.float32))


def va_data(config: VAFusionRecipe):
    """The data of a VA run, by config ``va_source``:

    * "ferplus_votes" (the stand-in): FER+ Train / Valid / Test with targets DERIVED from each image's crowd
      votes (``va_from_votes``); the backbones learn FER+ majority labels.
    * "affectnet": AffectNet's manual annotations (``affectnet_root``); 10% of its training list (stratified by
      expression) is the validation split, its validation list is the test split (AffectNet has no public test).
    * "affwild2": Aff-Wild2 VA frames (``affwild2_root``); 10% of the training videos are held out for
      validation, the validation set is the test split (the paper's protocol); the backbones learn the EXPR
      labels of the frames of the remaining training videos.

    Returns (train, valid, test) FaceData with ``.va`` (N, 2), the backbones' (train, valid) expression data,
    and counts of the samples without a valid VA target (left out of training and scoring)."""
    source = config.va_source
    seed = config.split_seed
    if source == "ferplus_votes":
        train, valid, test = (_with_va(d, va_from_votes(d.votes)) for d in load_ferplus_splits(config))
        pre = (train.subset(train.labels >= 0), valid.subset(valid.labels >= 0))
    elif source == "affectnet":
        root = require(config.affectnet_root, "va_source='affectnet'", "affectnet_root",
                       "Manually_Annotated_file_lists/ and Manually_Annotated_Images/")
        full, test = load_affectnet("train", root), load_affectnet("valid", root)
        keep, hold = stratified_holdout(full.labels, 0.1, seed)
        train, valid = full.subset(keep), full.subset(hold)
        pre = (train, valid)
    elif source == "affwild2":
        root = require(config.affwild2_root, "va_source='affwild2'", "affwild2_root",
                       "the ABAW annotations and cropped_aligned/")
        full, test = load_abaw("VA", "train", root), load_abaw("VA", "valid", root)
        videos = np.unique(full.videos)
        rng = np.random.default_rng(seed)
        held = set(rng.choice(videos, max(1, round(0.1 * len(videos))), replace=False)) if len(videos) > 1 else set()
        in_valid = np.array([v in held for v in full.videos], dtype=bool)
        train, valid = full.subset(~in_valid), full.subset(in_valid)
        expr = load_abaw("EXPR", "train", root)
        expr = expr.subset(expr.labels >= 0)
        expr_valid = np.array([v in held for v in expr.videos], dtype=bool)
        pre = (expr.subset(~expr_valid), expr.subset(expr_valid))
    else:
        raise ValueError(f"va_source={source!r}: expected 'ferplus_votes', 'affectnet' or 'affwild2'")
    if len(valid) == 0:
        raise DataError(f"va_source={source!r}: the validation split is empty (need at least two videos / images)")
    excluded = {name: int(np.isnan(d.va).any(1).sum()) for name, d in (("train", train), ("valid", valid), ("test", test))}
    return train, valid, test, pre, excluded


def _standardise(train: torch.Tensor, *others: torch.Tensor):
    """z-score every feature with the training statistics (backbones' features differ in scale)."""
    mu, sd = train.mean(0), train.std(0).clamp_min(1e-6)
    return [(x - mu) / sd for x in (train, *others)]


class Polarity(Method):
    """Eq. 1: cross-entropy of the polarity classifiers of the dimensions in ``trained`` (indices into
    VA_DIMS), the only parameters this fit updates."""

    def __init__(self, trained: list[int]):
        super().__init__(num_classes=3)
        self.trained = trained

    def loss(self, out, batch, epoch):
        return sum(F.cross_entropy(out[f"pol_{VA_DIMS[d]}"], batch["pol"][:, d]) for d in self.trained)

    def param_groups(self, model):
        return [{"params": [p for d in self.trained for p in getattr(model, f"pol_{VA_DIMS[d]}").parameters()]}]


class VAHeads(Method):
    """Eq. 2: the CCC loss of each dimension over the batch's non-extreme samples (a dimension with no extreme
    in training needs no mask, and no host sync for the masked size); validation is the CCC of paper 004's
    inference (``va_predict``), the mean of valence and arousal selecting the epoch."""

    def __init__(self, counts: dict):
        super().__init__(num_classes=3)
        self.counts = counts

    def loss(self, out, batch, epoch):
        terms = []
        for d, dim in enumerate(VA_DIMS):
            if self.counts[dim] == 0:
                terms.append(ccc_loss(out[dim], batch["va"][:, d]))
                continue
            m = batch["pol"][:, d] == 1
            if m.sum() > 1:
                terms.append(ccc_loss(out[dim][m], batch["va"][m, d]))
        return sum(terms) if terms else out["valence"].sum() * 0.0

    def evaluate(self, model, data, cfg):
        model.eval()
        with torch.no_grad():
            return va_scores(va_predict(model(data.images)).cpu().numpy(), data.extra["va"].cpu().numpy())


def _fit_polarity(model: VAModel, x: torch.Tensor, pol: torch.Tensor, spec: VAHeadSpec, seed: int) -> dict:
    """Eq. 1: the polarity classifiers, trained (through ``fit``, the last epoch kept) before the regressors
    and then frozen. A dimension whose training targets hold no extreme (-1 or +1) gets a classifier that
    always says 'in between'."""
    counts = {dim: int((pol[:, d] != 1).sum()) for d, dim in enumerate(VA_DIMS)}
    heads = {dim: getattr(model, f"pol_{dim}") for dim in VA_DIMS}
    trained = [d for d, dim in enumerate(VA_DIMS) if counts[dim] > 0]
    if trained:
        cfg = TrainConfig(epochs=spec.polarity_epochs or spec.epochs, batch_size=min(spec.batch_size, len(x)),
                          lr=spec.lr, weight_decay=0.0, schedule="none", views=(), seed=seed, device=str(x.device))
        data = DeviceData(x, torch.zeros(len(x), dtype=torch.long, device=x.device), {"pol": pol})
        fit(model, (data, None), Polarity(trained), cfg, progress=False)
    with torch.no_grad():
        for dim in VA_DIMS:
            if counts[dim] == 0:
                heads[dim].weight.zero_()
                heads[dim].bias.copy_(torch.tensor([0.0, 1.0, 0.0]))
    for head in heads.values():
        head.requires_grad_(False)
    return counts


def va_scores(pred, target) -> dict:
    """CCC per dimension and their mean (the ABAW VA score), NaN targets left out. pred, target (N, 2)."""
    out = {f"ccc_{dim}": ccc(np.asarray(pred)[:, d], np.asarray(target)[:, d]) for d, dim in enumerate(VA_DIMS)}
    out["ccc_mean"] = (out["ccc_valence"] + out["ccc_arousal"]) / 2
    return out


def train_va_heads(x_train, y_train, x_valid, y_valid, spec, seed: int, feed_valence: bool = True):
    """Paper 004 §2.3 on precomputed features: polarity classifiers (Eq. 1), then the valence and arousal
    regressors with the CCC loss (Eq. 2, per dimension over the batch) on the samples whose target is not an
    extreme, Adam, through ``fit`` with the epoch of the best validation mean CCC kept. x (N, D) float,
    y (N, 2) in [-1, 1]; spec: a VAHeadSpec (or a dict of its fields).
    Returns (model in eval mode, history, polarity extreme counts)."""
    spec = spec if isinstance(spec, VAHeadSpec) else VAHeadSpec(**spec)
    torch.manual_seed(seed)
    device = x_train.device
    model = VAModel(x_train.shape[1], spec.hidden, spec.dropout, feed_valence).to(device)
    pol = torch.stack([polarity_labels(y_train[:, d]) for d in range(2)], 1).to(device)
    counts = _fit_polarity(model, x_train, pol, spec, seed)

    cfg = TrainConfig(epochs=spec.epochs, batch_size=min(spec.batch_size, len(x_train)), lr=spec.lr, weight_decay=0.0,
                      schedule="none", views=(), select="ccc_mean", seed=seed, device=str(device))
    zeros = lambda n: torch.zeros(n, dtype=torch.long, device=device)  # noqa: E731
    result = fit(model, (DeviceData(x_train, zeros(len(x_train)), {"va": y_train, "pol": pol}),
                         DeviceData(x_valid, zeros(len(x_valid)), {"va": y_valid})), VAHeads(counts), cfg, progress=False)
    model.eval()
    return model, result.history, counts


@task("va_fusion", VAFusionRecipe)
def va_fusion(config: VAFusionRecipe, work_dir, progress: bool = True) -> dict:
    """Paper 004 §2: ``archs`` are the fused backbones (the first also alone as the single-backbone row),
    ``pretrain`` their expression training, ``va_source`` the targets (see ``va_data``). Trains the backbones once and three head variants on their frozen features:
    the paper's fusion, the fusion without the valence -> arousal link, and the first backbone alone; also
    scores the expression probabilities mapped through the category norms (no VA training at all)."""
    train, valid, test, (pre_train, pre_valid), excluded = va_data(config)
    cfg = config.pretrain
    device = cfg.resolved_device()
    classes = pre_train.class_names
    pre = (DeviceData.from_record(pre_train, device), DeviceData.from_record(pre_valid, device) if len(pre_valid) else None)
    images = [torch.as_tensor(d.images).to(device) for d in (train, valid, test)]   # on the device once
    keep = test.labels >= 0
    feats, test_probs, backbones, fits = {}, [], {}, []
    for k, arch in enumerate(config.archs):
        seed_everything(config.seed * 10 + k)
        model = build_model(arch, len(classes))
        result = fit(model, pre, Method(supervised_ce, num_classes=len(classes)), cfg, ckpt_dir=Path(work_dir) / arch,
                     progress=progress)
        parts = [frame_features(result.model, x) for x in images]
        feats[arch] = [f.float() for f, _ in parts]
        test_logits = parts[2][1]
        test_probs.append(torch.softmax(test_logits, 1).cpu().numpy())
        backbones[arch] = {"valid_macro_f1": result.best_score, "best_epoch": result.best_epoch,
                           "feature_dim": int(feats[arch][0].shape[1])}
        if keep.any():
            backbones[arch]["test_macro_f1"] = macro_f1(test.labels[keep], test_logits.argmax(1).cpu().numpy()[keep],
                                                        len(classes))
        fits.append((result.train_seconds, result.images_per_s))
        del model, result
    del images, pre
    ok = {name: ~np.isnan(d.va).any(1) for name, d in (("train", train), ("valid", valid), ("test", test))}
    y = {name: torch.as_tensor(d.va[ok[name]]).to(device) for name, d in (("train", train), ("valid", valid), ("test", test))}
    archs = list(config.archs)
    variants = {"fusion": (archs, True), "fusion_no_feed": (archs, False), f"single_{archs[0]}": (archs[:1], True)}
    spec = config.heads
    out_variants, predictions, histories, counts = {}, {}, {}, None
    for name, (archs, feed) in variants.items():
        x = [torch.cat([feats[a][i] for a in archs], 1)[torch.as_tensor(ok[s]).to(device)]
             for i, s in enumerate(("train", "valid", "test"))]
        x_tr, x_va, x_te = _standardise(*x)
        heads, history, counts = train_va_heads(x_tr, y["train"], x_va, y["valid"], spec, config.seed, feed)
        with torch.no_grad():
            pred = va_predict(heads(x_te)).cpu().numpy()
        best = max(history, key=lambda h: h["valid_ccc_mean"])
        out_variants[name] = {**va_scores(pred, y["test"].cpu().numpy()), "valid_ccc_mean": best["valid_ccc_mean"],
                              "best_epoch": best["epoch"], "feature_dim": int(x_tr.shape[1])}
        predictions[f"va_{name}"] = pred.astype(np.float16)
        histories[name] = history
    via = expected_va(np.mean(test_probs, 0), classes)[ok["test"]]
    final = {**{k: out_variants["fusion"][k] for k in ("ccc_valence", "ccc_arousal", "ccc_mean")},
             "variants": out_variants, "via_expression": va_scores(via, y["test"].cpu().numpy()),
             "backbones": backbones, "n_extreme_train": counts, "n_excluded": excluded,
             "derived_targets": config.va_source == "ferplus_votes"}
    predictions.update({"va_target": test.va[ok["test"]].astype(np.float16), "va_via_expression": via.astype(np.float16),
                        "names": test.names[ok["test"]]})
    return {"final": final, "history": histories["fusion"], "va_history": histories, "predictions": predictions,
            "best_epoch": out_variants["fusion"]["best_epoch"],
            "train_seconds": sum(t for t, _ in fits), "images_per_s": float(np.mean([r for _, r in fits])),
            "data": {"source": train.source_name, "n_train": int(ok["train"].sum()), "n_valid": int(ok["valid"].sum()),
                     "n_test": int(ok["test"].sum()), "n_pretrain": len(pre_train)}}
