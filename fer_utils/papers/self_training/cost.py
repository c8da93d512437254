"""Paper 003's cost model: one pass per labelled image of the active set, and each round's predictions on the
pool and the held-out split."""
from __future__ import annotations

from ...cost import N_CKPLUS, arch_of, eval_images, minutes, phase_images, sizes


def self_training_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    train = config.get("train", {})
    n = N_CKPLUS * 0.8 if config.get("dataset") == "ckplus" else n_train
    return minutes(phase_images(train, int(n), 1.0) + eval_images(train, n_valid) * 2, arch_of(config))


COSTS = {"self_training": self_training_minutes}
