"""Consensual Collaborative Training (paper 001) as a training task."""
from __future__ import annotations

import numpy as np
import torch

from ..losses import cct_lambda, cct_loss
from ..metrics import accuracy, macro_f1
from ..models import CoTrained, ensemble_log_probs, load_backbone
from ..train import DeviceData, TrainConfig, fit, predict, seed_everything
from . import task
from .common import final_test_metrics, load_ferplus_splits, outcome, pretrain_on_ckplus, training_split


@task("cct")
def cct(config: dict, work_dir, progress: bool = True) -> dict:
    """Consensual Collaborative Training (paper 001): K ResNet-18s, Eq. 1-4, lr 1e-3 backbones / 1e-2 heads.

    config keys beyond the common ones: networks (K), beta, lambda_max, ramp_fraction (e_r / E_max),
    clamp (hold lambda after e_r), consistency (False: lambda = 0, CE only), init ("scratch" or "ckplus"),
    classifier_lr, save_train_predictions.
    """
    train, valid, test = load_ferplus_splits(config)
    clean_labels = train.labels
    train, keep, noise = training_split(train, config)
    clean = clean_labels[keep]
    cfg = TrainConfig(**config["train"], seed=config["seed"])
    device = cfg.resolved_device()
    k, arch = config.get("networks", 3), config.get("arch", "resnet18")
    pretrained = pretrain_on_ckplus(config, device, arch) if config.get("init", "scratch") == "ckplus" else None
    seed_everything(config["seed"])
    model = CoTrained(k, 8, arch, dropout=config.get("dropout", 0.0))
    if pretrained is not None:
        for net in model.nets:  # the same pretrained backbone; heads differ by their random initialisation
            load_backbone(net, pretrained)
    heads = [p for net in model.nets for p in net.fc.parameters()]
    head_ids = {id(p) for p in heads}
    groups = [{"params": [p for p in model.parameters() if id(p) not in head_ids], "lr": cfg.lr},
              {"params": heads, "lr": config.get("classifier_lr", 10 * cfg.lr)}]
    ramp = config.get("ramp_fraction", 0.9) * cfg.epochs

    def lam_of(epoch: int) -> float:
        if not config.get("consistency", True) or k == 1:
            return 0.0
        return cct_lambda(epoch, ramp, config.get("lambda_max", 0.9), config.get("beta", 4.0),
                          clamp=config.get("clamp", False))

    def loss_fn(outputs, batch, epoch):
        lam = lam_of(epoch)
        return cct_loss(outputs, batch["y"], lam, scale=1.0 / k), {"lambda": lam}

    def all_logits(m, x):  # (N, K * C): one pass gives every network's logits
        return torch.cat(m(x), dim=1)

    def evaluate_fn(m, data):
        """Ensemble macro F1 (the selection metric), each network's F1, and how often all K agree."""
        per = predict(m, data.images, cfg.eval_batch_size, forward=all_logits).view(len(data), k, 8)
        ensemble = ensemble_log_probs(list(per.unbind(1))).argmax(1).cpu().numpy()
        pred = per.argmax(2).cpu().numpy()
        yv = data.labels.cpu().numpy()
        lab = yv >= 0
        return {"macro_f1": macro_f1(yv[lab], ensemble[lab], 8), "accuracy": accuracy(yv[lab], ensemble[lab]),
                "f1_per_network": [macro_f1(yv[lab], pred[lab, j], 8) for j in range(k)],
                "agreement": float((pred == pred[:, :1]).all(1).mean())}

    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device), loss_fn, cfg,
                 num_classes=8, forward_fn=lambda m, batch: m(batch["x"]), evaluate_fn=evaluate_fn,
                 param_groups=groups, ckpt_dir=work_dir, progress=progress)
    test_images = torch.as_tensor(test.images).to(device)
    per = predict(result.model, test_images, cfg.eval_batch_size, forward=all_logits).view(len(test), k, 8)
    logits = ensemble_log_probs(list(per.unbind(1)))
    final = {**final_test_metrics(test.labels, logits),
             "per_network": [final_test_metrics(test.labels, per[:, j])["macro_f1"] for j in range(k)]}
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    if config.get("save_train_predictions"):
        train_logp = predict(result.model, torch.as_tensor(train.images).to(device), cfg.eval_batch_size,
                             forward=lambda m, x: ensemble_log_probs(m(x)))
        predictions.update({"train_index": keep.astype(np.int32), "train_label": train.labels.astype(np.int8),
                            "train_majority": clean.astype(np.int8),
                            "train_pred": train_logp.argmax(1).cpu().numpy().astype(np.int8),
                            "train_label_prob": train_logp.exp().gather(
                                1, torch.as_tensor(train.labels, device=device)[:, None]).squeeze(1)
                            .cpu().numpy().astype(np.float16)})
    return outcome(final, result, predictions, train, valid, test, noise)
