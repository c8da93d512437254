"""Training tasks that ``run_or_load`` can run, by name. Each takes (config, work_dir, progress) and returns
the final test metrics, the per-epoch history and the test predictions (``common.outcome``).

One module per method: ``supervised`` (the baseline), ``cct`` (paper 001), ``abaw5_expression`` (paper 000:
frozen-feature baseline, MutexMatch with the dynamic adaptive threshold, noise-aware model), ``self_training``
(paper 003: successive label smoothing and sample weights, on FER+ or a CK+ fold), ``ssl_temporal``
(paper 002: teacher/student pretraining with debiased feedback, then a temporal encoder over clips),
``abaw5_multitask`` (paper 004: expression sub-classifiers with CE + Dice, temporal AU model on CK+).
"""
from __future__ import annotations

TASKS = {}


def task(name):
    """Register a training function under ``name`` (the "task" of a run config)."""
    def register(fn):
        TASKS[name] = fn
        return fn
    return register


from . import abaw5_expression, abaw5_multitask, cct, self_training, ssl_temporal, supervised  # noqa: E402,F401  (registers the tasks)
from .common import data_root_for, final_test_metrics, load_ferplus_splits, outcome  # noqa: E402

__all__ = ["TASKS", "data_root_for", "final_test_metrics", "load_ferplus_splits", "outcome", "task"]
