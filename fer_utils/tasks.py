"""Training tasks that ``run_or_load`` can run, by name: each takes (config, work_dir) and returns the
final test metrics, the per-epoch history and the test predictions. Paper notebooks add their tasks here."""
from __future__ import annotations

import numpy as np
import torch

from .data import DataError, load_ckplus, load_ferplus
from .data.io import SAMPLE_ROOT, resolve_root
from .labels import CKPLUS_CLASSES, FERPLUS_CLASSES, noise_report, training_labels
from .losses import cct_lambda, cct_loss, supervised_ce
from .metrics import abaw_overall, accuracy, macro_f1, per_class_f1
from .models import CoTrained, build_model, ensemble_log_probs, load_backbone
from .train import DeviceData, TrainConfig, fit, predict, seed_everything

TASKS = {}


def task(name):
    def register(fn):
        TASKS[name] = fn
        return fn
    return register


def data_root_for(config: dict):
    """"sample" = the bundled sample (smoke runs); "full" = the real data, never silently the sample."""
    if config["data"] == "sample":
        return SAMPLE_ROOT
    if config["data"] == "full":
        root, origin = resolve_root()
        if origin == "sample":
            raise DataError("data='full' needs the real FER+ data ($FER_DATA_ROOT or ../shared/data); "
                            "only the bundled sample was found")
        return root
    raise ValueError(f"config data={config['data']!r}: expected 'sample' or 'full'")


def load_ferplus_splits(config: dict):
    root = data_root_for(config)
    return load_ferplus("train", root), load_ferplus("valid", root), load_ferplus("test", root)


def final_test_metrics(labels: np.ndarray, logits: torch.Tensor, class_names=FERPLUS_CLASSES) -> dict:
    """The book's final metrics on FER+ Test (majority labels; unlabelled test images left out)."""
    pred = logits.argmax(1).cpu().numpy()
    keep = labels >= 0
    y, p = labels[keep], pred[keep]
    c = len(class_names)
    table = per_class_f1(y, p, class_names)
    return {"macro_f1": macro_f1(y, p, c), "accuracy": accuracy(y, p), "abaw_overall": abaw_overall(y, p, c),
            "per_class_f1": {k: float(v) for k, v in table["f1"].items()}, "n_test": int(keep.sum())}


def outcome(final: dict, result, predictions: dict, train, valid, test, noise) -> dict:
    """What a task returns to run_or_load: test metrics, history, predictions, speed and data facts."""
    return {"final": {**final, "best_valid_macro_f1": result.best_score}, "history": result.history,
            "best_epoch": result.best_epoch, "predictions": predictions, "train_seconds": result.train_seconds,
            "images_per_s": result.images_per_s,
            "data": {"source": train.source, "n_train": len(train), "n_valid": len(valid), "n_test": len(test),
                     "label_noise_rate": noise.rate}}


@task("supervised")
def supervised(config: dict, work_dir, progress: bool = True) -> dict:
    """Fully supervised training with cross-entropy on FER+ (majority or noisy training labels)."""
    train, valid, test = load_ferplus_splits(config)
    y = training_labels(train.votes, train.labels, config.get("labels", "majority"), 8,
                        config.get("label_seed", 0))
    noise = noise_report(train.labels, y, 8)
    train = train.with_labels(y).subset(y >= 0)
    cfg = TrainConfig(**config["train"], seed=config["seed"])
    device = cfg.resolved_device()
    seed_everything(config["seed"])
    model = build_model(config.get("arch", "resnet18"), 8, dropout=config.get("dropout", 0.0))
    result = fit(model, DeviceData.from_record(train, device), DeviceData.from_record(valid, device),
                 supervised_ce, cfg, num_classes=8, ckpt_dir=work_dir, progress=progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    return outcome(final_test_metrics(test.labels, logits), result, predictions, train, valid, test, noise)


def pretrain_on_ckplus(config: dict, device, arch: str) -> dict:
    """A ResNet backbone trained on all of CK+48 (7 posed expressions): the book's stand-in for pretraining
    on another expression dataset (the papers use AffectNet or RAF-DB). Returns its state dict."""
    ck = load_ckplus(data_root_for(config))
    cfg = TrainConfig(**config["pretrain"], seed=config["seed"], device=str(device))
    seed_everything(config["seed"] + 10_000)
    model = build_model(arch, len(CKPLUS_CLASSES), dropout=config.get("dropout", 0.0))
    fit(model, DeviceData.from_record(ck, device), None, supervised_ce, cfg, num_classes=len(CKPLUS_CLASSES),
        progress=False)
    return model.state_dict()


@task("cct")
def cct(config: dict, work_dir, progress: bool = True) -> dict:
    """Consensual Collaborative Training (paper 001): K ResNet-18s, Eq. 1-4, lr 1e-3 backbones / 1e-2 heads.

    config keys beyond the common ones: networks (K), beta, lambda_max, ramp_fraction (e_r / E_max),
    clamp (hold lambda after e_r), consistency (False: lambda = 0, CE only), init ("scratch" or "ckplus"),
    classifier_lr, save_train_predictions.
    """
    train, valid, test = load_ferplus_splits(config)
    y = training_labels(train.votes, train.labels, config.get("labels", "majority"), 8, config.get("label_seed", 0))
    noise = noise_report(train.labels, y, 8)
    keep = np.flatnonzero(y >= 0)
    clean = train.labels[keep]
    train = train.with_labels(y).subset(keep)
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
