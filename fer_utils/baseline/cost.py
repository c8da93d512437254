"""Chapter 0's cost model: one network, one pass per labelled image (and the scarce-label fraction)."""
from __future__ import annotations

from ..cost import arch_of, eval_images, minutes, sizes, train_budget


def supervised_budget(config: dict) -> dict:
    n_train, _ = sizes(config)
    return train_budget(config.get("train", {}), int(n_train * config.get("labelled_fraction", 1.0)))


def supervised_minutes(config: dict) -> float:
    _, n_valid = sizes(config)
    return minutes(supervised_budget(config)["passes"] + eval_images(config.get("train", {}), n_valid), arch_of(config))


COSTS = {"supervised": supervised_minutes}
BUDGETS = {"supervised": supervised_budget}
