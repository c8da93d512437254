"""Learning-rate schedules as plain functions of the step or epoch (multiplicative factors of the base lr)."""
from __future__ import annotations

import math


def cosine_factor(step: int, total_steps: int, final: float = 0.0) -> float:
    """Cosine decay from 1 at step 0 to ``final`` at ``total_steps``."""
    t = min(max(step / max(total_steps, 1), 0.0), 1.0)
    return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * t))


def exponential_factor(epoch: int, gamma: float) -> float:
    """gamma ** epoch (e.g. CCT and DNFER decay the lr by 0.95 per epoch)."""
    return gamma ** epoch


def onecycle_factor(step: int, total_steps: int, warmup: float = 0.2, start: float = 0.1) -> float:
    """Linear warm-up from ``start`` to 1 over the first ``warmup`` share of the steps, then linear decay to 0
    (the triangular one-cycle schedule of the fast-training literature, e.g. Smith & Topin 2019)."""
    t = min(max(step / max(total_steps, 1), 0.0), 1.0)
    if t < warmup:
        return start + (1 - start) * t / warmup
    return (1 - t) / (1 - warmup)


SCHEDULES = ("cosine", "onecycle", "exp", "none")


def lr_factor(schedule: str, step: int, total_steps: int, epoch: int, gamma: float = 0.95) -> float:
    """The lr factor of ``schedule`` (one of SCHEDULES) at a step (cosine, onecycle) or epoch (exp)."""
    if schedule == "cosine":
        return cosine_factor(step, total_steps)
    if schedule == "onecycle":
        return onecycle_factor(step, total_steps)
    if schedule == "exp":
        return exponential_factor(epoch, gamma)
    if schedule == "none":
        return 1.0
    raise ValueError(f"schedule={schedule!r}: expected one of {', '.join(SCHEDULES)}")
