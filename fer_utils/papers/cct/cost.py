"""Paper 001's cost model: K networks, each one pass per image and one evaluation; the CK+ pretraining of the
init="ckplus" row."""
from __future__ import annotations

from ...cost import N_CKPLUS, arch_of, eval_images, minutes, phase_images, sizes


def cct_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    train = config.get("train", {})
    k = config.get("networks", 3)
    images = phase_images(train, n_train, k) + eval_images(train, n_valid) * k
    if config.get("init") == "ckplus":
        images += phase_images(config["pretrain"], N_CKPLUS)
    return minutes(images, arch_of(config))


COSTS = {"cct": cct_minutes}
