"""Training tasks that ``run_or_load`` can run, by name. Each takes (recipe, work_dir, progress) and returns
the final test metrics, the per-epoch history and the test predictions (``common.outcome``). A task's
recipe is a frozen dataclass beside it (``CCTRecipe`` in ``cct.py``): every knob with its one default, unit
and the paper's value; a config with a key the recipe does not have is refused, naming the key.

One module per method: ``supervised`` (the baseline), ``cct`` (paper 001), ``abaw5_expression`` (paper 000:
frozen-feature baseline, MutexMatch with the dynamic adaptive threshold, noise-aware model), ``self_training``
(paper 003: successive label smoothing and sample weights, on FER+ or a CK+ fold), ``ssl_temporal``
(paper 002: teacher/student pretraining with debiased feedback, then a temporal encoder over clips),
``ssl_all_labels`` (paper 002's teacher/student on all the labels, every train face also in the unlabelled
stream with its label hidden: chapter 6's row),
``abaw5_multitask`` (paper 004: expression sub-classifiers with CE + Dice, temporal AU model on CK+).
"""
from __future__ import annotations

TASKS = {}


def task(name, recipe):
    """Register ``fn(recipe, work_dir, progress)`` under ``name`` (the "task" of a run config), with its recipe
    class: the registered function takes a recipe or a config dict (checked and resolved by the recipe)."""
    def register(fn):
        def run(config, work_dir, progress: bool = True):
            r = config if isinstance(config, recipe) else recipe.from_config(config)
            return fn(r, work_dir, progress)
        run.__module__, run.__name__, run.__doc__ = fn.__module__, fn.__name__, fn.__doc__
        run.recipe = recipe
        TASKS[name] = run
        return run
    return register


def resolve_config(config: dict) -> dict:
    """The full resolved recipe of a run config: checked by its task's recipe class (an unknown or misspelt
    key, or a training-block key TrainConfig lacks, is an error naming the key and the allowed ones) with
    every default filled in. This is what the run key hashes and config.json stores. A task registered
    without a recipe (a reader's own) keeps its config as given."""
    where = f"{config.get('notebook', '?')}/{config.get('name', '?')}"
    if "task" not in config:
        raise ValueError(f"run config {where}: no 'task' key")
    if config["task"] not in TASKS:
        raise ValueError(f"run config {where}: task={config['task']!r}: expected one of {', '.join(TASKS)}")
    recipe = getattr(TASKS[config["task"]], "recipe", None)
    return recipe.from_config(config).to_config() if recipe is not None else dict(config)


from . import abaw5_expression, abaw5_multitask, cct, self_training, ssl_all_labels, ssl_temporal, supervised  # noqa: E402,F401  (registers the tasks)
from .common import Recipe, data_root_for, final_test_metrics, load_ferplus_splits, outcome  # noqa: E402

__all__ = ["Recipe", "TASKS", "resolve_config", "data_root_for", "final_test_metrics", "load_ferplus_splits", "outcome", "task"]
