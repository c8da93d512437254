"""The three models of the ABAW5 expression paper (paper 000) beyond the supervised baseline, as tasks:

* ``frozen_baseline`` — the organisers' recipe in spirit: a frozen backbone trained for another task (here
  action-unit detection on CK+48, since no VGGFace weights exist), three trainable FC layers, softmax;
* ``mutexmatch``      — semi-supervised MutexMatch (TPC + TNC) with the class-wise dynamic adaptive
  threshold of Eq. 4 (or MutexMatch's fixed threshold);
* ``noise_aware``     — SCN-style learned sample weights in a weighted CE over the samples the batch
  class-mean threshold keeps, plus attention-map consistency between the weak and the flipped strong view.
"""
from __future__ import annotations

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
from .common import data_root_for, final_test_metrics, load_ferplus_splits, outcome, training_split


def _test_outcome(result, train, valid, test, noise, device, eval_batch_size, extra=None):
    logits = predict(result.model, torch.as_tensor(test.images).to(device), eval_batch_size)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names,
                   **(extra or {})}
    return outcome(final_test_metrics(test.labels, logits), result, predictions, train, valid, test, noise)


def pretrain_au_backbone(config: dict, device, arch: str = "resnet18"):
    """A backbone trained for a different task on data the book has: detecting the 23 FACS action units of
    CK+48 (multi-label, BCE). Returns the trained FERNet (its backbone is then frozen)."""
    ck = load_ckplus(data_root_for(config))
    cfg = TrainConfig(**config["pretrain"], seed=config["seed"], device=str(device))
    seed_everything(config["seed"] + 20_000)
    model = build_model(arch, ck.aus.shape[1])
    data = DeviceData.from_record(ck, device, aus=ck.aus.astype(np.float32))
    fit(model, data, None, lambda out, batch, epoch: F.binary_cross_entropy_with_logits(out.float(), batch["aus"]),
        cfg, num_classes=ck.aus.shape[1], progress=False)
    return model


@task("frozen_baseline")
def frozen_baseline(config: dict, work_dir, progress: bool = True) -> dict:
    """Paper 000 §2.1 in spirit: frozen features (CK+ AU detector) + three FC layers + softmax, CE on FER+."""
    train, valid, test = load_ferplus_splits(config)
    train, _, noise = training_split(train, config)
    cfg = TrainConfig(**config["train"], seed=config["seed"])
    device = cfg.resolved_device()
    body = pretrain_au_backbone(config, device, config.get("arch", "resnet18"))
    seed_everything(config["seed"])
    model = FrozenFeatureClassifier(body.backbone, body.feature_dim, 8, dropout=config.get("dropout", 0.5))
    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device),
                 lambda out, batch, epoch: F.cross_entropy(out, batch["y"]), cfg, num_classes=8,
                 ckpt_dir=work_dir, progress=progress)
    return _test_outcome(result, train, valid, test, noise, device, cfg.eval_batch_size)


@task("mutexmatch")
def mutexmatch(config: dict, work_dir, progress: bool = True) -> dict:
    """MutexMatch with the dynamic adaptive threshold (paper 000 §2.3, Eq. 1-4).

    config: labelled_fraction (of each class; the rest joins the unlabelled pool with the images FER+
    leaves unlabelled), threshold ("dat" or a fixed float tau), k (top-k of L_n; default C), lambda_u,
    dat_beta, dat_gamma. One forward pass over [x_lb; u_w; u_s] shares BatchNorm statistics (as the code).
    """
    train, valid, test = load_ferplus_splits(config)
    pool_unlabelled = train.subset(train.labels < 0)
    labelled, _, noise = training_split(train, config)
    frac = config.get("labelled_fraction", 1.0)
    if frac < 1.0:
        keep, rest = labelled_fraction_split(labelled.labels, frac, seed=config.get("split_seed", 0))
        pool = np.concatenate([pool_unlabelled.images, labelled.images[rest]])
        labelled = labelled.subset(keep)
    else:
        pool = pool_unlabelled.images
    cfg = TrainConfig(**config["train"], seed=config["seed"])
    device = cfg.resolved_device()
    seed_everything(config["seed"])
    model = TwoHeadNet(8, config.get("arch", "resnet18"), dropout=config.get("dropout", 0.0))
    lab = DeviceData.from_record(labelled, device)
    unl = DeviceData(torch.as_tensor(pool).to(device), torch.full((len(pool),), -1, device=device))
    threshold = config.get("threshold", "dat")
    state = {"T": None}

    def on_epoch_start(m, epoch, history):
        """Eq. 4 from the model's performance on the labelled set after ``epoch`` completed epochs."""
        if threshold == "dat":
            probs = predict(m, lab.images, cfg.eval_batch_size).softmax(1)
            state["T"] = dynamic_adaptive_threshold(probs, lab.labels, 8, epoch, config.get("dat_beta", 0.95),
                                                    config.get("dat_gamma", float(np.e)))
        else:
            state["T"] = float(threshold)

    def forward_fn(m, batch):
        b, u = len(batch["x"]), len(batch["u_weak"])
        tpc, tnc, tnc_sep = m(torch.cat([batch["x"], batch["u_weak"], batch["u_strong"]]), heads=True)
        return {"lb": tpc[:b], "uw": tpc[b:b + u], "us": tpc[b + u:], "neg_uw": tnc[b:b + u],
                "neg_us": tnc[b + u:], "neg_sep": tnc_sep[b:b + u]}

    def loss_fn(out, batch, epoch):
        t = mutexmatch_losses(out["lb"], batch["y"], out["uw"], out["us"], out["neg_uw"], out["neg_us"],
                              out["neg_sep"], state["T"], k=config.get("k"), lambda_u=config.get("lambda_u", 1.0))
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


@task("noise_aware")
def noise_aware(config: dict, work_dir, progress: bool = True) -> dict:
    """The noise-aware model (paper 000 §2.4, Eq. 5-6): L = L_WCE(clean samples) + L_RR + lambda L_AC.

    config: consistency_weight (lambda, 1 = the literal reading; 0 switches the consistency off), rr_beta,
    rr_margin, warmup_epochs (plain CE on all samples first; 0 = the literal reading), save_train_alpha.
    The views are the weak view and the pixel-aligned flipped strong view (TrainConfig views).
    """
    train, valid, test = load_ferplus_splits(config)
    clean_labels = train.labels
    train, keep, noise = training_split(train, config)
    cfg = TrainConfig(**{"views": ("weak", "flipped_strong"), **config["train"]}, seed=config["seed"])
    device = cfg.resolved_device()
    seed_everything(config["seed"])
    model = ImportanceNet(8, config.get("arch", "resnet18"), dropout=config.get("dropout", 0.0))
    lam = config.get("consistency_weight", 1.0)

    def forward_fn(m, batch):
        b = len(batch["weak"])
        logits, alpha, maps = m(torch.cat([batch["weak"], batch["flipped_strong"]]), return_all=True)
        return {"logits": logits[:b], "alpha": alpha[:b], "maps_weak": maps[:b], "maps_strong_flipped": maps[b:]}

    def loss_fn(out, batch, epoch):
        logits, alpha, y = out["logits"], out["alpha"], batch["y"]
        if epoch < config.get("warmup_epochs", 0):
            return F.cross_entropy(logits, y), {"clean_rate": 1.0}
        probs = torch.softmax(alpha.detach()[:, None] * logits.detach().float(), dim=1)
        mask = clean_mask(probs, y, batch_class_thresholds(probs))
        wce = weighted_ce(logits, alpha, y, mask)
        rr = rank_regularization(alpha, config.get("rr_beta", 0.7), config.get("rr_margin", 0.15))
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
    if config.get("save_train_alpha"):  # the learned importance of every training image (no augmentation)
        alpha = predict(result.model, torch.as_tensor(train.images).to(device), cfg.eval_batch_size,
                        forward=lambda m, x: m(x, return_all=True)[1][:, None])[:, 0]
        extra |= {"train_index": keep.astype(np.int32), "train_label": train.labels.astype(np.int8),
                 "train_majority": clean_labels[keep].astype(np.int8),
                 "train_alpha": alpha.cpu().numpy().astype(np.float16)}
    return _test_outcome(result, train, valid, test, noise, device, cfg.eval_batch_size, extra)
