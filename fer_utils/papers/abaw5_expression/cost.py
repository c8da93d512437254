"""Paper 000's cost models: the frozen-feature baseline (its CK+ AU pretraining, then heads on frozen features),
MutexMatch (one pass over the labelled batch and mu x its size in two unlabelled views) and the noise-aware
model (two views)."""
from __future__ import annotations

from ...cost import FORWARD_SHARE, N_CKPLUS, arch_of, eval_images, minutes, phase_images, sizes


def frozen_baseline_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    train = config.get("train", {})
    frac = config.get("labelled_fraction", 1.0)
    images = (phase_images(train, int(n_train * frac), FORWARD_SHARE + 0.1) + eval_images(train, n_valid)
              + phase_images(config["pretrain"], N_CKPLUS))
    return minutes(images, arch_of(config))


def mutexmatch_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    train = config.get("train", {})
    mu = train.get("mu", 7)
    return minutes(phase_images(train, n_train, 1 + 2 * mu) + eval_images(train, n_valid), arch_of(config))


def noise_aware_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    train = config.get("train", {})
    return minutes(phase_images(train, n_train, 2) + eval_images(train, n_valid), arch_of(config))


COSTS = {"frozen_baseline": frozen_baseline_minutes, "mutexmatch": mutexmatch_minutes,
         "noise_aware": noise_aware_minutes}
