"""CPU-minute estimates of a run from its config, for ``reproduce --dry-run`` and the budget checks: each
task's cost model lives in its paper's ``cost.py`` (chapter 0's in ``baseline/cost.py``), on the shared counts
of ``fer_utils.cost``; ``measured_factors`` sets the estimates beside the minutes stored runs took.
"""
from __future__ import annotations

from .baseline import cost as baseline_cost
from .papers.abaw5_expression import cost as ae_cost
from .papers.abaw5_multitask import cost as mt_cost
from .papers.cct import cost as cct_cost
from .papers.self_training import cost as st_cost
from .papers.ssl_temporal import cost as ssl_cost

# Protocol 2's compute caps for the cpu profile, on the reference bf16 2-core machine: the whole book's list in at
# most BOOK_CAP_HOURS of wall time, trained PARALLEL_RUNS one-thread runs at a time (how `reproduce --jobs 2`
# trains it); PARALLEL_FACTOR is how much longer than its estimate a run takes in that mode (chapter 0's stored
# runs: the median of 9, 1.1x); and one run in at most RUN_CAP_MINUTES (a run must finish inside a session:
# checkpoints are not kept across machines).
BOOK_CAP_HOURS = 20
PARALLEL_RUNS = 2
PARALLEL_FACTOR = 1.1
RUN_CAP_MINUTES = 60

COSTS = {**baseline_cost.COSTS, **ae_cost.COSTS, **cct_cost.COSTS, **ssl_cost.COSTS, **st_cost.COSTS, **mt_cost.COSTS}
BUDGETS = {**baseline_cost.BUDGETS, **ae_cost.BUDGETS, **cct_cost.BUDGETS, **ssl_cost.BUDGETS, **st_cost.BUDGETS,
           **mt_cost.BUDGETS}


def estimate_minutes(config: dict) -> float:
    """Estimated CPU minutes of a run on the reference 2-core machine (smoke configs: the same formula)."""
    task = config["task"]
    if task not in COSTS:
        raise ValueError(f"estimate_minutes: no estimate for task {task!r}")
    return COSTS[task](config)


def training_budget(config: dict) -> dict:
    """What a run trains on, from its config: {"steps", "labelled images", "passes"} (network passes in
    training-image equivalents: forward + backward = 1, a forward-only pass FORWARD_SHARE), the counts its
    CPU-minute estimate is made of (evaluation on the validation split left out)."""
    task = config["task"]
    if task not in BUDGETS:
        raise ValueError(f"training_budget: task {task!r} has no budget; tasks with one: {', '.join(sorted(BUDGETS))}")
    return BUDGETS[task](config)


def measured_factors(records) -> dict[tuple[str, int], tuple[float, int]]:
    """How much longer stored runs took than their estimates, on the machine that trained them:
    ``records`` = (provenance dict, estimated minutes) per stored run. Groups the runs by (precision, torch
    threads) and returns {(precision, threads): (median of measured minutes / estimate, number of runs)}.
    Measured = the run's ``wall_seconds`` (data loading, training and evaluation, like the estimate), else
    its ``train_seconds``; runs with neither (or NaN) are left out."""
    ratios: dict = {}
    for prov, est in records:
        seconds = prov.get("wall_seconds", prov.get("train_seconds"))
        if seconds is None or seconds != seconds or est <= 0:
            continue
        key = (str(prov.get("precision", "?")), int(prov.get("threads") or 0))
        ratios.setdefault(key, []).append(seconds / 60 / est)
    out = {}
    for key, r in sorted(ratios.items()):
        r = sorted(r)
        mid = len(r) // 2
        out[key] = ((r[mid] if len(r) % 2 else (r[mid - 1] + r[mid]) / 2), len(r))
    return out


def book_wall_minutes(estimates) -> float:
    """Wall minutes of a list of runs on the reference 2-core machine, PARALLEL_RUNS one-thread runs at a time,
    each PARALLEL_FACTOR times its estimate (``estimates``: estimated minutes per run)."""
    return sum(estimates) * PARALLEL_FACTOR / PARALLEL_RUNS
