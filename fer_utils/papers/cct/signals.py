"""Paper 001's mechanism check (Protocol 2): did the consensus act? From stored runs' histories: the epoch lambda
reached lambda_max (it must before the last epoch, or the run mostly trained without consensus) and how often
the K networks disagree on FER+ Valid at the kept epoch, beside three networks trained with lambda = 0."""
from __future__ import annotations

import numpy as np


def lambda_reached(history: list[dict], lambda_max: float = 0.9, tol: float = 0.01) -> int | None:
    """The first 0-based epoch whose logged lambda is within ``tol`` (relative) of ``lambda_max``, else None.
    history: a run's per-epoch records with "epoch" and "lambda"."""
    for h in history:
        if h.get("lambda", 0.0) >= (1 - tol) * lambda_max:
            return int(h["epoch"])
    return None


def disagreement(run) -> float:
    """Share of FER+ Valid faces on which not all K networks predict the same class, at the run's kept epoch."""
    kept = next(h for h in run.history if h["epoch"] == run.metrics["best_epoch"])
    return 1.0 - float(kept["valid_agreement"])


def consensus_signal(cct_runs, ce_only_runs=(), lambda_max: float = 0.9) -> tuple[bool, str]:
    """(exercised, signal): the consensus acted when every CCT run reached lambda_max before its last epoch.
    The signal prints the epochs lambda_max was reached, the kept epochs, and the networks' disagreement on
    Valid at the kept epoch for CCT and (if stored) for the lambda = 0 networks."""
    if not cct_runs:
        return False, "no CCT run stored"
    reached = [lambda_reached(r.history, lambda_max) for r in cct_runs]
    epochs = [len(r.history) for r in cct_runs]
    ok = all(e is not None and e < n - 1 for e, n in zip(reached, epochs))
    kept = ", ".join(str(r.metrics["best_epoch"]) for r in cct_runs)
    missed = sum(e is None for e in reached)
    if missed:
        where = f"λ did not reach λ_max = {lambda_max:g} within {max(epochs)} epochs in {missed} of {len(reached)} run(s)"
    else:
        where = (f"λ reached λ_max = {lambda_max:g} at epoch {', '.join(str(e) for e in reached)} of "
                 f"{max(epochs)}")
    text = (f"{where} (kept epochs {kept}); the networks disagree on "
            f"{np.mean([disagreement(r) for r in cct_runs]):.1%} of Valid")
    if ce_only_runs:
        text += f" (λ = 0: {np.mean([disagreement(r) for r in ce_only_runs]):.1%})"
    return ok, text
