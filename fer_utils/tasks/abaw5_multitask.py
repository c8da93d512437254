"""Paper 004 (ABAW5 multi-task) as tasks:

* ``expression_subclassifier`` — one sub-classifier of the expression ensemble (§3): a backbone trained with
  CE + lambda * soft Dice on FER+ (all training data, or a bootstrap resample); scheme 2 trains without the
  class that plays 'Other' (FER+ contempt). The meta-classifier (priority rules) only combines stored
  predictions, so the chapter computes it from the sub-classifiers' runs.
* ``au_temporal`` — action units (§4) on CK+48 with its FACS table, the 12 ABAW AUs: a backbone trained on
  FER+ expressions gives frozen frame features; the three-pipeline temporal model (method notes A11) runs
  over each CK+ sequence's frames with the sigmoid focal loss, in 10 subject-independent folds.
* ``va_fusion`` — valence/arousal (§2): three backbones trained on expressions give frozen features, which
  are concatenated; polarity classifiers (Eq. 1) first, then the valence and arousal heads with the CCC loss
  (Eq. 2), the valence head's hidden features fed to the arousal head. Targets: the DERIVED FER+ stand-in
  (``labels.va_from_votes``), or real AffectNet / Aff-Wild2 valence-arousal for a reader who has the data.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import DataError, load_abaw, load_affectnet, load_ckplus
from ..labels import ABAW_AUS, FERPLUS_CLASSES, expected_va, stratified_holdout, subject_kfold, va_from_votes
from ..losses import ccc_loss, ce_dice_loss, polarity_labels, sigmoid_focal_loss, supervised_ce
from ..metrics import au_f1, ccc, macro_f1
from ..models import VAModel, build_model, va_predict
from ..temporal import AUTemporalNet
from ..train import DeviceData, TrainConfig, fit, predict, seed_everything
from . import task
from .common import data_root_for, final_test_metrics, load_ferplus_splits, outcome, training_split
from .ssl_temporal import frame_features

OTHER = FERPLUS_CLASSES.index("contempt")  # contempt plays ABAW's 'Other' (the rarest FER+ class)


@task("expression_subclassifier")
def expression_subclassifier(config: dict, work_dir, progress: bool = True) -> dict:
    """One sub-classifier. config: arch, dice (CE + lambda Dice, or CE alone), lam (1), scheme ("8way", or
    "no_other": contempt left out of training, predicted at inference below a threshold the chapter chooses
    on FER+ Valid), bootstrap (resample the training set with replacement, seeded)."""
    train, valid, test = load_ferplus_splits(config)
    train, _, noise = training_split(train, config)
    if config.get("scheme", "8way") == "no_other":
        train = train.subset(train.labels != OTHER)
    if config.get("bootstrap"):
        rng = np.random.default_rng(config["seed"] + 40_000)
        train = train.subset(rng.integers(0, len(train), len(train)))
    cfg = TrainConfig(**config["train"], seed=config["seed"])
    device = cfg.resolved_device()
    seed_everything(config["seed"])
    model = build_model(config["arch"], 8, dropout=config.get("dropout", 0.0))
    lam = config.get("lam", 1.0)
    loss = ((lambda out, batch, epoch: ce_dice_loss(out, batch["y"], 8, lam)) if config.get("dice", True)
            else supervised_ce)
    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device), loss, cfg,
                 num_classes=8, ckpt_dir=work_dir, progress=progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size)
    valid_logits = predict(result.model, torch.as_tensor(valid.images).to(device), cfg.eval_batch_size)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names,
                   "valid_logits": valid_logits.cpu().numpy().astype(np.float16), "valid_labels": valid.labels}
    out = outcome(final_test_metrics(test.labels, logits), result, predictions, train, valid, test, noise)
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


@task("au_temporal")
def au_temporal(config: dict, work_dir, progress: bool = True) -> dict:
    """Paper 004 §4 on CK+48. config: arch (the feature backbone: resnet50, regnet_y_400mf, regnet_y_800mf),
    pretrain (a FER+ expression training of that backbone; its frozen pooled features are the frame
    features), au_model {epochs, batch_size, lr, heads, layers, ff, dropout}, au_width (project
    the features first), alpha, gamma (focal),
    folds (10). Scores: per-AU F1 at threshold 0.5 over the held-out predictions of all folds."""
    train, valid, _ = load_ferplus_splits(config)
    cfg = TrainConfig(**config["pretrain"], seed=config["seed"])
    device = cfg.resolved_device()
    seed_everything(config["seed"])
    backbone = build_model(config["arch"], 8)
    result = fit(backbone, DeviceData.from_record(train, device), DeviceData.from_record(valid, device), supervised_ce,
                 cfg, num_classes=8, ckpt_dir=work_dir, progress=progress)
    ck = load_ckplus(data_root_for(config))
    au_idx = [ck.au_names.index(a) for a in ABAW_AUS]
    aus = ck.aus[:, au_idx].astype(np.int64)                                   # (N, 12), -1 = unknown
    feats, _ = frame_features(result.model, torch.as_tensor(ck.images).to(device))
    seqs = ckplus_sequences(ck)                                                # (S, T)
    x_all = feats[torch.as_tensor(seqs).to(device)]                            # (S, T, D)
    y_all = torch.as_tensor(aus[seqs]).to(device)                              # (S, T, 12)
    seq_subjects = ck.subjects[seqs[:, 0]]
    folds = subject_kfold(seq_subjects, config.get("folds", 10), seed=config.get("split_seed", 0))
    a = config["au_model"]
    probs = np.zeros(aus.shape, dtype=np.float32)
    fold_of_frame = np.zeros(len(ck), dtype=np.int64)
    fold_history = []
    for f in range(config.get("folds", 10)):
        tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        seed_everything(config["seed"] * 100 + f)
        net = AUTemporalNet(x_all.shape[-1], len(ABAW_AUS), a.get("heads", 8), a.get("layers", 2), a.get("ff", 512),
                            a.get("dropout", 0.3), max_len=seqs.shape[1], width=config.get("au_width")).to(device)
        opt = torch.optim.AdamW(net.parameters(), lr=a.get("lr", 1e-3), weight_decay=a.get("weight_decay", 1e-2))
        gen = torch.Generator().manual_seed(config["seed"] * 100 + f)
        losses = []
        for epoch in range(a["epochs"]):
            net.train()
            order = torch.as_tensor(tr)[torch.randperm(len(tr), generator=gen)]
            total = torch.zeros((), device=device)
            for s in range(0, len(order), a["batch_size"]):
                b = order[s:s + a["batch_size"]].to(device)
                out = net(x_all[b])
                terms = [sigmoid_focal_loss(out[k], y_all[b], config.get("alpha", 0.75), config.get("gamma", 2.0))
                         for k in ("fused", "p1", "p2", "p3")]
                loss = sum(terms) / 4                                          # (L_fusion + L_1 + L_2 + L_3) / 4
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * len(b)
            losses.append(total.item() / len(tr))
        net.eval()
        with torch.no_grad():
            p = torch.sigmoid(net(x_all[torch.as_tensor(te).to(device)])["fused"]).cpu().numpy()
        probs[seqs[te].reshape(-1)] = p.reshape(-1, len(ABAW_AUS))
        fold_of_frame[seqs[te].reshape(-1)] = f
        fold_history.append({"fold": f, "train_loss": losses})
    pred = (probs >= 0.5).astype(np.int64)
    per_au = au_f1(aus, pred)
    known = (aus >= 0).all(1)
    final = {"mean_au_f1": float(per_au.mean()), "per_au_f1": dict(zip(ABAW_AUS, map(float, per_au))),
             "au_frequency": dict(zip(ABAW_AUS, map(float, (aus[known] == 1).mean(0)))),
             "n_frames": int(known.sum()), "n_sequences": int(len(seqs)), "feature_dim": int(x_all.shape[-1]),
             "backbone_valid_macro_f1": result.best_score, "macro_f1": float(per_au.mean())}
    predictions = {"au_probs": probs.astype(np.float16), "au_labels": aus.astype(np.int8), "names": ck.names,
                   "fold": fold_of_frame.astype(np.int8)}
    return {"final": final, "history": result.history, "best_epoch": result.best_epoch, "predictions": predictions,
            "train_seconds": result.train_seconds, "images_per_s": result.images_per_s, "fold_history": fold_history,
            "data": {"source": ck.source, "n_train": len(train), "n_ckplus": len(ck)}}


# --------------------------------------------------------------------------- valence/arousal (§2)

VA_DIMS = ("valence", "arousal")


def _with_va(d, va):
    return dataclasses.replace(d, va=np.asarray(va, dtype=np.float32))


def va_data(config: dict):
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
    source = config.get("va_source", "ferplus_votes")
    seed = config.get("split_seed", 0)
    if source == "ferplus_votes":
        train, valid, test = (_with_va(d, va_from_votes(d.votes)) for d in load_ferplus_splits(config))
        pre = (train.subset(train.labels >= 0), valid.subset(valid.labels >= 0))
    elif source == "affectnet":
        root = config.get("affectnet_root")
        if not root:
            raise ValueError("va_source='affectnet' needs config affectnet_root: the folder holding "
                             "Manually_Annotated_file_lists/ and Manually_Annotated_Images/")
        full, test = load_affectnet("train", root), load_affectnet("valid", root)
        keep, hold = stratified_holdout(full.labels, 0.1, seed)
        train, valid = full.subset(keep), full.subset(hold)
        pre = (train, valid)
    elif source == "affwild2":
        root = config.get("affwild2_root")
        if not root:
            raise ValueError("va_source='affwild2' needs config affwild2_root: the folder holding the ABAW "
                             "annotations and cropped_aligned/")
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


def _fit_polarity(model: VAModel, x: torch.Tensor, pol: torch.Tensor, spec: dict, gen: torch.Generator) -> dict:
    """Eq. 1: the polarity classifiers, trained before the regressors and then frozen. A dimension whose
    training targets hold no extreme (-1 or +1) gets a classifier that always says 'in between'."""
    counts = {dim: int((pol[:, d] != 1).sum()) for d, dim in enumerate(VA_DIMS)}
    heads = {dim: getattr(model, f"pol_{dim}") for dim in VA_DIMS}
    trained = [d for d, dim in enumerate(VA_DIMS) if counts[dim] > 0]
    if trained:
        opt = torch.optim.Adam([p for d in trained for p in heads[VA_DIMS[d]].parameters()], lr=spec.get("lr", 1e-4))
        for _ in range(spec.get("polarity_epochs", spec["epochs"])):
            order = torch.randperm(len(x), generator=gen).to(x.device)
            for s in range(0, len(order), spec["batch_size"]):
                b = order[s:s + spec["batch_size"]]
                out = model(x[b])
                loss = sum(F.cross_entropy(out[f"pol_{VA_DIMS[d]}"], pol[b, d]) for d in trained)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
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


def train_va_heads(x_train, y_train, x_valid, y_valid, spec: dict, seed: int, feed_valence: bool = True):
    """Paper 004 §2.3 on precomputed features: polarity classifiers (Eq. 1), then the valence and arousal
    regressors with the CCC loss (Eq. 2, per dimension over the batch) on the samples whose target is not an
    extreme, Adam; the epoch with the best validation mean CCC is kept. x (N, D) float, y (N, 2) in [-1, 1].
    Returns (model in eval mode, history, polarity extreme counts)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = VAModel(x_train.shape[1], spec.get("hidden", 256), spec.get("dropout", 0.1), feed_valence).to(x_train.device)
    pol = torch.stack([polarity_labels(y_train[:, d]) for d in range(2)], 1).to(x_train.device)
    counts = _fit_polarity(model, x_train, pol, spec, gen)
    regress = pol == 1                                                        # (N, 2) the regressors' samples

    def dim_loss(out, b, d):
        # CCC of one dimension over the batch's non-extreme samples; a dimension with no extreme in training
        # needs no mask (and no host sync for the masked size)
        if counts[VA_DIMS[d]] == 0:
            return ccc_loss(out[VA_DIMS[d]], y_train[b, d])
        m = regress[b, d]
        return ccc_loss(out[VA_DIMS[d]][m], y_train[b, d][m]) if m.sum() > 1 else None

    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=spec.get("lr", 1e-4))
    best, best_state, history = -np.inf, None, []
    for epoch in range(spec["epochs"]):
        model.train()
        order = torch.randperm(len(x_train), generator=gen).to(x_train.device)
        total, steps = torch.zeros((), device=x_train.device), 0
        for s in range(0, len(order), spec["batch_size"]):
            b = order[s:s + spec["batch_size"]]
            if len(b) < 2:
                continue
            out = model(x_train[b])
            terms = [t for t in (dim_loss(out, b, d) for d in range(2)) if t is not None]
            if not terms:
                continue
            loss = sum(terms)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
            steps += 1
        model.eval()
        with torch.no_grad():
            scores = va_scores(va_predict(model(x_valid)).cpu().numpy(), y_valid.cpu().numpy())
        history.append({"epoch": epoch, "loss": total.item() / max(steps, 1),
                        **{f"valid_{k}": v for k, v in scores.items()}})
        if scores["ccc_mean"] > best:
            best, best_state = scores["ccc_mean"], copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return model, history, counts


@task("va_fusion")
def va_fusion(config: dict, work_dir, progress: bool = True) -> dict:
    """Paper 004 §2. config: archs (the fused backbones, the first also alone as the single-backbone row),
    pretrain (their expression training), heads {epochs, batch_size, lr, hidden, dropout, polarity_epochs},
    va_source (see ``va_data``). Trains the backbones once and three head variants on their frozen features:
    the paper's fusion, the fusion without the valence -> arousal link, and the first backbone alone; also
    scores the expression probabilities mapped through the category norms (no VA training at all)."""
    train, valid, test, (pre_train, pre_valid), excluded = va_data(config)
    cfg = TrainConfig(**config["pretrain"], seed=config["seed"])
    device = cfg.resolved_device()
    classes = pre_train.class_names
    pre = (DeviceData.from_record(pre_train, device), DeviceData.from_record(pre_valid, device) if len(pre_valid) else None)
    images = [torch.as_tensor(d.images).to(device) for d in (train, valid, test)]   # on the device once
    keep = test.labels >= 0
    feats, test_probs, backbones, fits = {}, [], {}, []
    for k, arch in enumerate(config["archs"]):
        seed_everything(config["seed"] * 10 + k)
        model = build_model(arch, len(classes))
        result = fit(model, *pre, supervised_ce, cfg, num_classes=len(classes), ckpt_dir=Path(work_dir) / arch,
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
    variants = {"fusion": (config["archs"], True), "fusion_no_feed": (config["archs"], False),
                f"single_{config['archs'][0]}": (config["archs"][:1], True)}
    spec = config["heads"]
    out_variants, predictions, histories, counts = {}, {}, {}, None
    for name, (archs, feed) in variants.items():
        x = [torch.cat([feats[a][i] for a in archs], 1)[torch.as_tensor(ok[s]).to(device)]
             for i, s in enumerate(("train", "valid", "test"))]
        x_tr, x_va, x_te = _standardise(*x)
        heads, history, counts = train_va_heads(x_tr, y["train"], x_va, y["valid"], spec, config["seed"], feed)
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
             "derived_targets": config.get("va_source", "ferplus_votes") == "ferplus_votes"}
    predictions.update({"va_target": test.va[ok["test"]].astype(np.float16), "va_via_expression": via.astype(np.float16),
                        "names": test.names[ok["test"]]})
    return {"final": final, "history": histories["fusion"], "va_history": histories, "predictions": predictions,
            "best_epoch": out_variants["fusion"]["best_epoch"],
            "train_seconds": sum(t for t, _ in fits), "images_per_s": float(np.mean([r for _, r in fits])),
            "data": {"source": train.source, "n_train": int(ok["train"].sum()), "n_valid": int(ok["valid"].sum()),
                     "n_test": int(ok["test"].sum()), "n_pretrain": len(pre_train)}}
