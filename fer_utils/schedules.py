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


def lr_factor(schedule: str, step: int, total_steps: int, epoch: int, gamma: float = 0.95) -> float:
    if schedule == "cosine":
        return cosine_factor(step, total_steps)
    if schedule == "exp":
        return exponential_factor(epoch, gamma)
    if schedule == "none":
        return 1.0
    raise ValueError(f"schedule={schedule!r}: expected 'cosine', 'exp' or 'none'")
