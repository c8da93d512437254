"""Paper 002's cost model: the teacher on [x; u_w; u_s], the student on u_s and its labelled loss before and
after its step (or one network for the supervised baseline); during the warm start both networks on the
labelled batch; the temporal phase's feature pass and windows."""
from __future__ import annotations

from ...cost import FORWARD_SHARE, arch_of, eval_images, minutes, phase_images, sizes


def ssl_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    train = config.get("train", {})
    frac = config.get("labelled_fraction", 1.0)
    mu = train.get("mu", 7)
    per = (1 + 2 * mu) + mu + 2 * FORWARD_SHARE if config.get("method") != "supervised" else 1.0
    if config.get("method") != "supervised":     # the warm start: two networks on the labelled batch only
        w = config.get("warmup_fraction", 0.0)
        per = w * 2 + (1 - w) * per
    images = phase_images(train, int(n_train * frac), per) + eval_images(train, n_valid) * 2
    if config.get("temporal"):
        images += n_train * FORWARD_SHARE + phase_images(config["temporal"], 1, 0.05)
    return minutes(images, arch_of(config))


COSTS = {"ssl_temporal": ssl_minutes, "ssl_all_labels": ssl_minutes}
