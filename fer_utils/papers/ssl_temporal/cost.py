"""Paper 002's cost model: the teacher on [x; u_w; u_s], the student on u_s and its labelled loss before and
after its step (or one network for the supervised baseline); during the warm start both networks on the
labelled batch; the temporal phase's feature pass and windows."""
from __future__ import annotations

from ...cost import FORWARD_SHARE, add_budgets, arch_of, eval_images, minutes, sizes, train_budget


def ssl_budget(config: dict) -> dict:
    """Teacher and student: per labelled image 1 + 2 mu teacher passes, mu student passes and two forward-only
    passes (the feedback's before/after losses); the warm start trains both on the labelled batch (2 passes).
    The temporal phase adds a forward pass over the clips' frames and its small encoder."""
    n_train, _ = sizes(config)
    train = config.get("train", {})
    mu = train.get("mu", 7)
    per = (1 + 2 * mu) + mu + 2 * FORWARD_SHARE if config.get("method") != "supervised" else 1.0
    if config.get("method") != "supervised":     # the warm start: two networks on the labelled batch only
        w = config.get("warmup_fraction", 0.0)
        per = w * 2 + (1 - w) * per
    phases = [train_budget(train, int(n_train * config.get("labelled_fraction", 1.0)), per)]
    if config.get("temporal"):
        phases.append(train_budget(config["temporal"], 1, 0.05, extra_passes=n_train * FORWARD_SHARE))
    return add_budgets(*phases)


def ssl_minutes(config: dict) -> float:
    _, n_valid = sizes(config)
    return minutes(ssl_budget(config)["passes"] + eval_images(config.get("train", {}), n_valid) * 2, arch_of(config))


COSTS = {"ssl_temporal": ssl_minutes, "ssl_all_labels": ssl_minutes}
BUDGETS = {"ssl_temporal": ssl_budget, "ssl_all_labels": ssl_budget}
