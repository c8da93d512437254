"""Paper 000's cost models: the frozen-feature baseline (its CK+ AU pretraining, then heads on frozen features),
MutexMatch (one pass over the labelled batch and mu x its size in two unlabelled views) and the noise-aware
model (two views)."""
from __future__ import annotations

from ...cost import FORWARD_SHARE, N_CKPLUS, add_budgets, arch_of, eval_images, minutes, sizes, train_budget


def frozen_baseline_budget(config: dict) -> dict:
    """CK+ pretraining, then a head on frozen features (a forward pass plus a small head: FORWARD_SHARE + 0.1)."""
    n_train, _ = sizes(config)
    train = config.get("train", {})
    return add_budgets(train_budget(config["pretrain"], N_CKPLUS),
                       train_budget(train, int(n_train * config.get("labelled_fraction", 1.0)), FORWARD_SHARE + 0.1))


def mutexmatch_budget(config: dict) -> dict:
    """Each labelled image brings mu unlabelled ones in two views: 1 + 2 mu passes."""
    n_train, _ = sizes(config)
    train = config.get("train", {})
    return train_budget(train, n_train, 1 + 2 * train.get("mu", 7))


def noise_aware_budget(config: dict) -> dict:
    """Each face and its mirror image (the attention-consistency pair): 2 passes."""
    n_train, _ = sizes(config)
    return train_budget(config.get("train", {}), n_train, 2)


BUDGETS = {"frozen_baseline": frozen_baseline_budget, "mutexmatch": mutexmatch_budget,
           "noise_aware": noise_aware_budget}


def _minutes(config: dict) -> float:
    _, n_valid = sizes(config)
    return minutes(BUDGETS[config["task"]](config)["passes"] + eval_images(config.get("train", {}), n_valid),
                   arch_of(config))


frozen_baseline_minutes = mutexmatch_minutes = noise_aware_minutes = _minutes
COSTS = {"frozen_baseline": frozen_baseline_minutes, "mutexmatch": mutexmatch_minutes,
         "noise_aware": noise_aware_minutes}
