"""The task registry: training tasks that ``run_or_load`` can run, by name. Each takes (recipe, work_dir,
progress) and returns the final test metrics, the per-epoch history and the test predictions
(``common.outcome``). A task's recipe is a frozen dataclass beside it (``CCTRecipe`` in
``papers/cct/task.py``): every knob with its one default, unit and the paper's value; a config with a key the
recipe does not have is refused, naming the key (``resolve_config``).

The tasks live with their method: ``supervised`` in ``fer_utils/baseline`` (chapter 0's common recipe) and
every paper's in ``fer_utils/papers/<paper>/task.py``. ``common`` holds what every task shares (the recipe
base class, the FER+ splits, the final test metrics, what a task returns).
"""
from __future__ import annotations

from ..profiles import PROFILES

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


def check_profiles(table: dict, notebook: str) -> dict:
    """Check a paper's per-profile recipe overrides, ``{profile: {row kind: {"task": .., **overrides}}}``,
    against each task's recipe dataclass: every profile present, every key a field, every value of the
    field's type and range (a string lr, 2.5 epochs, dropout 1.5, an unknown arch fail here, naming the
    profile, the row kind and the key). Run at import of the paper's ``runs.py``, before any data is read.
    Returns the table."""
    if set(table) != set(PROFILES):
        raise ValueError(f"{notebook}: profiles {sorted(table)}: expected exactly {', '.join(PROFILES)}")
    for profile, kinds in table.items():
        for kind, given in kinds.items():
            task = given.get("task")
            if task not in TASKS:
                raise ValueError(f"{notebook} {profile}/{kind}: task={task!r}: expected one of {', '.join(TASKS)}")
            TASKS[task].recipe.from_config({"notebook": notebook, "name": f"{profile}/{kind}", "profile": profile,
                                            **given})
    return table


# registers every task: the common recipe's and each paper's (the task modules import ``task`` from here, so
# these imports come after its definition: the one import cycle of the package, by design)
from ..baseline import task as _baseline  # noqa: E402,F401
from ..papers.abaw5_expression import task as _p000  # noqa: E402,F401
from ..papers.abaw5_multitask import task as _p004  # noqa: E402,F401
from ..papers.cct import task as _p001  # noqa: E402,F401
from ..papers.self_training import task as _p003  # noqa: E402,F401
from ..papers.ssl_temporal import all_labels as _p002_all_labels  # noqa: E402,F401
from ..papers.ssl_temporal import task as _p002  # noqa: E402,F401
from .common import Recipe, data_root_for, final_test_metrics, load_ferplus_splits, outcome  # noqa: E402

__all__ = ["Recipe", "TASKS", "check_profiles", "resolve_config", "data_root_for", "final_test_metrics", "load_ferplus_splits", "outcome", "task"]
