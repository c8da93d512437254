"""Paper 004's cost models: a sub-classifier (one network), the AU run (its backbone's expression training, then
the folds of the temporal model and its per-frame baseline, counted per step) and the VA run (its backbones,
their feature passes over every FER+ split, then the heads, counted per step)."""
from __future__ import annotations

from ...cost import (CKPLUS_SEQUENCES, FORWARD_SHARE, N_FERPLUS, arch_of, eval_images, img_per_s, minutes,
                      phase_images, sizes, train_budget)

# chapter 5's AU phase: per fold, a temporal model and its per-frame baseline train on frozen features; a step
# of such a small model costs about the same whatever the backbone, so it is counted in seconds per step
# (measured: 10 folds x 60 epochs x 18 steps x 2 models in 23-30 min, bf16, 1 thread beside another run)
AU_STEP_SECONDS = 0.07
# chapter 5's VA run, after its backbones: their features of every FER+ split (forward passes), then for each
# of 3 head variants a heads fit of ``epochs`` x (train // batch) steps on those features, and a polarity fit as
# long where the targets hold extremes (the derived FER+ targets hold none: no polarity fit runs)
# (measured: 3 x 50 x 110 heads steps in 248 s, bf16, 1 thread beside another run)
VA_VARIANTS = 3
VA_STEP_SECONDS = 0.015


def subclassifier_budget(config: dict) -> dict:
    n_train, _ = sizes(config)
    return train_budget(config.get("train", {}), n_train)


def subclassifier_minutes(config: dict) -> float:
    _, n_valid = sizes(config)
    return minutes(subclassifier_budget(config)["passes"] + eval_images(config.get("train", {}), n_valid),
                   arch_of(config))


def au_fold_seconds(config: dict) -> float:
    """Seconds of chapter 5's AU phase: folds x epochs x steps (a fold trains on the clips of the other folds,
    full batches of ``batch_size`` clips) x 2 models (the temporal model and its per-frame baseline)."""
    au, folds = config["au_model"], config.get("folds", 10)
    n_train = CKPLUS_SEQUENCES["sample" if config.get("data") == "sample" else "full"] * (folds - 1) // folds
    steps = max(1, n_train // au["batch_size"])   # as fit() counts them: full batches only
    return folds * au["epochs"] * steps * 2 * AU_STEP_SECONDS


def au_minutes(config: dict) -> float:
    n_train, _ = sizes(config)
    return minutes(phase_images(config["pretrain"], n_train), arch_of(config)) + au_fold_seconds(config) / 60


def va_heads_seconds(config: dict, n_train: int = N_FERPLUS["train"]) -> float:
    """Seconds of chapter 5's VA heads: 3 variants x (heads fit + polarity fit, where the targets hold extremes)
    x epochs x full batches."""
    heads = config["heads"]
    epochs = heads["epochs"]
    if config.get("va_source", "ferplus_votes") != "ferplus_votes":   # real VA labels reach -1 and +1
        epochs += heads.get("polarity_epochs") or heads["epochs"]
    return VA_VARIANTS * epochs * max(1, n_train // heads["batch_size"]) * VA_STEP_SECONDS


def va_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    arch = arch_of(config)
    n_all = n_train + n_valid + (N_FERPLUS["test"] if config.get("data") != "sample" else n_valid)
    images = 0.0
    for a in config["archs"]:   # each backbone at its own throughput, in the first one's image equivalents
        images += (phase_images(config["pretrain"], n_train) + eval_images(config["pretrain"], n_valid)
                   + n_all * FORWARD_SHARE) * img_per_s(arch) / img_per_s(a)
    return minutes(images, arch) + va_heads_seconds(config, n_train) / 60


BUDGETS = {"expression_subclassifier": subclassifier_budget}
COSTS = {"expression_subclassifier": subclassifier_minutes, "au_temporal": au_minutes, "va_fusion": va_minutes}
