"""Paper 001's cost model: K networks, each one pass per image and one evaluation; the CK+ pretraining of the
init="ckplus" row."""
from __future__ import annotations

from ...cost import N_CKPLUS, add_budgets, arch_of, eval_images, minutes, sizes, train_budget


def cct_budget(config: dict) -> dict:
    """K networks on every labelled batch (K passes per image), after CK+ pretraining where ``init`` says so."""
    n_train, _ = sizes(config)
    phases = [train_budget(config.get("train", {}), n_train, config.get("networks", 3))]
    if config.get("init") == "ckplus":
        phases.insert(0, train_budget(config["pretrain"], N_CKPLUS))
    return add_budgets(*phases)


def cct_minutes(config: dict) -> float:
    _, n_valid = sizes(config)
    evals = eval_images(config.get("train", {}), n_valid) * config.get("networks", 3)
    return minutes(cct_budget(config)["passes"] + evals, arch_of(config))


COSTS = {"cct": cct_minutes}
BUDGETS = {"cct": cct_budget}
