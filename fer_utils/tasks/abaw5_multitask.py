"""Paper 004 (ABAW5 multi-task) as tasks:

* ``expression_subclassifier`` — one sub-classifier of the expression ensemble (§3): a backbone trained with
  CE + lambda * soft Dice on FER+ (all training data, or a bootstrap resample); scheme 2 trains without the
  class that plays 'Other' (FER+ contempt). The meta-classifier (priority rules) only combines stored
  predictions, so the chapter computes it from the sub-classifiers' runs.
* ``au_temporal`` — action units (§4) on CK+48 with its FACS table, the 12 ABAW AUs: a backbone trained on
  FER+ expressions gives frozen frame features; the three-pipeline temporal model (method notes A11) runs
  over each CK+ sequence's frames with the sigmoid focal loss, in 10 subject-independent folds.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data import load_ckplus
from ..labels import ABAW_AUS, FERPLUS_CLASSES, subject_kfold
from ..losses import ce_dice_loss, sigmoid_focal_loss, supervised_ce
from ..metrics import au_f1
from ..models import build_model
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
