"""Chapter 0's cost model: one network, one pass per labelled image (and the scarce-label fraction)."""
from __future__ import annotations

from ..cost import arch_of, eval_images, minutes, phase_images, sizes


def supervised_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    train = config.get("train", {})
    frac = config.get("labelled_fraction", 1.0)
    return minutes(phase_images(train, int(n_train * frac)) + eval_images(train, n_valid), arch_of(config))


COSTS = {"supervised": supervised_minutes}
