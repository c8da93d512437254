"""Consensual Collaborative Training (paper 001) as a training task: its recipe, its Method (Eq. 1-4 with the
lambda ramp, one lr for the backbones and one for the heads, the ensemble's validation scores) and the task."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...metrics import accuracy, macro_f1
from ...models import load_backbone
from ...tasks import task
from ...tasks.common import (FERPlusRecipe, block, final_test_metrics, load_ferplus_splits, outcome, pretrain_on_ckplus,
                             training_split)
from ...train import DeviceData, Method, TrainConfig, fit, predict, seed_everything
from .losses import cct_lambda, cct_loss
from .models import CoTrained, ensemble_log_probs


@dataclass(frozen=True)
class CCTRecipe(FERPlusRecipe):
    """Paper 001's knobs (Eq. 1-4), the paper's value beside each default."""
    labels: str = "single_annotator"   # training labels                                paper: AffectNet/RAF-DB labels
    networks: int = 3                  # K co-trained networks (1 = the baseline)      paper: 3
    beta: float = 4.0                  # exponent of the lambda ramp-up (Eq. 4)        paper: 4
    lambda_max: float = 0.9            # final weight of the consistency term (Eq. 3)  paper: 0.9
    ramp_fraction: float = 0.9         # e_r / E_max, the ramp-up length               paper: 0.9
    clamp: bool = False                # hold lambda at lambda_max after e_r           paper: not stated (ch. 2)
    consistency: bool = True           # False: lambda = 0, CE only (Table 6)          paper: True
    init: str = "scratch"              # "scratch" | "ckplus" (Table 4)                paper: ImageNet / face init
    classifier_lr: float | None = 1e-2  # heads' lr (None: train.lr, the common recipe)  paper: 1e-2 (backbones 1e-3)
    label_smoothing: float = 0.0       # Eq. 2's CE target smoothing (common recipe 0.1) paper: none
    save_train_predictions: bool = False  # store the ensemble's train predictions (the chapter's figures)
    pretrain: TrainConfig = block(TrainConfig)  # the CK+ pretraining of init="ckplus"

    def check(self, where):
        super().check(where)
        if self.init not in ("scratch", "ckplus"):
            raise ValueError(f"run config {where}: init={self.init!r}: expected 'scratch' or 'ckplus'")
        if self.init == "ckplus" and self.pretrain is None:
            raise ValueError(f"run config {where}: init='ckplus' needs a 'pretrain' block")


def all_logits(m, x):
    """(N, K * C): one pass gives every network's logits."""
    return torch.cat(m(x), dim=1)


class CCT(Method):
    """Paper 001's step: the K networks' supervision and consensus terms (Eq. 1-3) weighted by the lambda ramp
    (Eq. 4) of the epoch; backbones at ``train.lr``, the heads at ``classifier_lr``; validation scores are the
    ensemble's (the selection metric), each network's F1 and how often all K agree."""

    def __init__(self, config: CCTRecipe, k: int):
        super().__init__(num_classes=8)
        self.config, self.k = config, k
        self.ramp = config.ramp_fraction * config.train.epochs

    def lam(self, epoch: int) -> float:
        """lambda of Eq. 4 at ``epoch`` (0 for one network or the CE-only ablation)."""
        c = self.config
        if not c.consistency or self.k == 1:
            return 0.0
        return cct_lambda(epoch, self.ramp, c.lambda_max, c.beta, clamp=c.clamp)

    def loss(self, outputs, batch, epoch):
        lam = self.lam(epoch)
        return (cct_loss(outputs, batch["y"], lam, scale=1.0 / self.k, label_smoothing=self.config.label_smoothing),
                {"lambda": lam})

    def param_groups(self, model):
        if self.config.classifier_lr is None:   # the common recipe: one lr for every parameter
            return [{"params": list(model.parameters()), "lr": self.config.train.lr}]
        heads = [p for net in model.nets for p in net.fc.parameters()]
        head_ids = {id(p) for p in heads}
        return [{"params": [p for p in model.parameters() if id(p) not in head_ids], "lr": self.config.train.lr},
                {"params": heads, "lr": self.config.classifier_lr}]

    def evaluate(self, model, data, cfg):
        k = self.k
        per = predict(model, data.images, cfg.eval_batch_size, forward=all_logits,
                      flip_tta=cfg.flip_tta).view(len(data), k, 8)
        ensemble = ensemble_log_probs(list(per.unbind(1))).argmax(1).cpu().numpy()
        pred = per.argmax(2).cpu().numpy()
        yv = data.labels.cpu().numpy()
        lab = yv >= 0
        return {"macro_f1": macro_f1(yv[lab], ensemble[lab], 8), "accuracy": accuracy(yv[lab], ensemble[lab]),
                "f1_per_network": [macro_f1(yv[lab], pred[lab, j], 8) for j in range(k)],
                "agreement": float((pred == pred[:, :1]).all(1).mean())}


@task("cct", CCTRecipe)
def cct(config: CCTRecipe, work_dir, progress: bool = True) -> dict:
    """Consensual Collaborative Training (paper 001): K networks, Eq. 1-4, separate lr for backbones and heads."""
    train, valid, test = load_ferplus_splits(config)
    clean_labels = train.labels
    train, keep, noise = training_split(train, config)
    clean = clean_labels[keep]
    cfg = config.train
    device = cfg.resolved_device()
    k = config.networks
    pretrained = pretrain_on_ckplus(config, config.pretrain, device) if config.init == "ckplus" else None
    seed_everything(config.seed)
    model = CoTrained(k, 8, config.arch, dropout=config.dropout)
    if pretrained is not None:
        for net in model.nets:  # the same pretrained backbone; heads differ by their random initialisation
            load_backbone(net, pretrained)
    method = CCT(config, k)
    result = fit(model, (DeviceData.from_record(train, device), DeviceData.from_record(valid, device)), method, cfg,
                 ckpt_dir=work_dir, progress=progress)
    test_images = torch.as_tensor(test.images).to(device)
    per = predict(result.model, test_images, cfg.eval_batch_size, forward=all_logits,
                  flip_tta=cfg.flip_tta).view(len(test), k, 8)
    logits = ensemble_log_probs(list(per.unbind(1)))
    final = {**final_test_metrics(test.labels, logits),
             "per_network": [final_test_metrics(test.labels, per[:, j])["macro_f1"] for j in range(k)]}
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    if config.save_train_predictions:
        train_logp = predict(result.model, torch.as_tensor(train.images).to(device), cfg.eval_batch_size,
                             forward=lambda m, x: ensemble_log_probs(m(x)))  # no TTA: probabilities
        predictions.update({"train_index": keep.astype(np.int32), "train_label": train.labels.astype(np.int8),
                            "train_majority": clean.astype(np.int8),
                            "train_pred": train_logp.argmax(1).cpu().numpy().astype(np.int8),
                            "train_label_prob": train_logp.exp().gather(
                                1, torch.as_tensor(train.labels, device=device)[:, None]).squeeze(1)
                            .cpu().numpy().astype(np.float16)})
    return outcome(final, result, predictions, train, valid, test, noise)
