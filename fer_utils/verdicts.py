"""Verdicts on a paper's claims, from our runs: reproduced / not reproduced / inconclusive, with the reason.

A difference counts only when it is larger than the seed-to-seed noise: with several seeds on both sides,
|mean difference| > 2 standard errors (Welch); with one seed, |difference| > 2 x ``noise_std`` (the std
over seeds of the chapter's main rows), else inconclusive.
"""
from __future__ import annotations

import math

import numpy as np


def _se(values) -> float:
    v = np.asarray(values, dtype=float)
    return float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")


def pooled_std(*samples) -> float | None:
    """The seed-to-seed std pooled over several runs' seeds: sqrt of the mean of their variances (ddof 1),
    over the samples with at least 2 seeds; None when none has. The ``noise_std`` of a chapter whose main
    rows differ in spread: one row's std from few seeds can be far smaller than its neighbour's."""
    variances = [float(np.var(np.asarray(v, dtype=float), ddof=1)) for v in samples if len(v) > 1]
    return float(math.sqrt(np.mean(variances))) if variances else None


def claim_greater(a, b, noise_std: float | None = None, what: str = "macro F1") -> tuple[str, str]:
    """Verdict on the claim mean(a) > mean(b) (e.g. CCT beats the baseline). Returns (verdict, reason)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) == 0 or len(b) == 0:
        return "pending", "runs not stored yet"
    diff = float(a.mean() - b.mean())
    if len(a) > 1 and len(b) > 1:
        se = math.sqrt(_se(a) ** 2 + _se(b) ** 2)
        margin, how = 2 * se, f"2 standard errors over {len(a)}+{len(b)} seeds"
    elif noise_std is not None and noise_std > 0:
        margin, how = 2 * noise_std, "2x the seed std of the main rows (one seed here)"
    else:
        return "inconclusive", f"difference {diff:+.3f} {what} from one seed, no noise estimate"
    if diff > margin:
        return "reproduced", f"{diff:+.3f} {what}, larger than {how} ({margin:.3f})"
    if diff < -margin:
        return "not reproduced", f"{diff:+.3f} {what}: the opposite, beyond {how} ({margin:.3f})"
    return "inconclusive", f"{diff:+.3f} {what}, within {how} ({margin:.3f})"


def claim_best(values: dict, claimed, noise_std: float | None = None, what: str = "macro F1") -> tuple[str, str]:
    """Verdict on the claim that setting ``claimed`` is the best of ``values`` ({setting: score})."""
    if claimed not in values or len(values) < 2:
        return "pending", "runs not stored yet"
    best = max(values, key=values.get)
    gap = values[best] - values[claimed]
    if best == claimed:
        runner = max(v for k, v in values.items() if k != claimed)
        lead = values[claimed] - runner
        if noise_std and lead > 2 * noise_std:
            return "reproduced", f"{claimed} is best by {lead:.3f} {what} (> 2x seed std {noise_std:.3f})"
        return "inconclusive", f"{claimed} is best, but only by {lead:.3f} {what} (seed std {noise_std or float('nan'):.3f})"
    if noise_std and gap > 2 * noise_std:
        return "not reproduced", f"{best} beats {claimed} by {gap:.3f} {what} (> 2x seed std {noise_std:.3f})"
    return "inconclusive", f"{best} is best, {claimed} within {gap:.3f} {what} of it"
