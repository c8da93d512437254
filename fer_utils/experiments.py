"""Which runs each chapter needs, per profile: the registry of the chapters' run lists. Each paper's list, its
run names and its per-profile recipe overrides live in its folder (``papers/<paper>/runs.py``; chapter 0's in
``baseline/runs.py``); this module maps notebooks to them, holds chapter 6's few extra runs, and resolves a
list (``runs_for``) or one run by name (``run_config``). ``python -m fer_utils.reproduce`` and the notebooks
read the same lists, so a training job trains exactly what the notebook renders.
"""
from __future__ import annotations

from .baseline import runs as data_runs
from .papers.abaw5_expression import runs as ae_runs
from .papers.abaw5_multitask import runs as mt_runs
from .papers.cct import runs as cct_runs
from .papers.self_training import runs as st_runs
from .papers.ssl_temporal import runs as ssl_runs
from .profiles import check_profile
from .tasks import resolve_config

def leaderboard_chapter(profile: str) -> list[dict]:
    """06_leaderboard trains nothing of its own: every row is a chapter's run. (Under Protocol 2 the
    semi-supervised methods are compared where labels are scarce, chapter 6's scarce-label table; the
    teacher/student runs on all the labels that this list once held, task ``ssl_all_labels``, collapsed or ran
    away and are in the repository's history only.)"""
    check_profile(profile)
    return []


NOTEBOOKS = {"00_data": data_runs.chapter_runs, "01_abaw5_expression": ae_runs.chapter_runs,
             "02_cct": cct_runs.chapter_runs, "03_ssl_temporal": ssl_runs.chapter_runs,
             "04_self_training": st_runs.chapter_runs, "05_abaw5_multitask": mt_runs.chapter_runs,
             "06_leaderboard": leaderboard_chapter}


def _notebook_name(notebook: str) -> str:
    name = notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")
    if name not in NOTEBOOKS:
        raise ValueError(f"notebook {name!r}: expected one of {', '.join(NOTEBOOKS)}")
    return name


def run_config(notebook: str, name: str, profile: str, seed: int | None = None) -> list[dict]:
    """The configs (one per seed or fold; only ``seed`` if given) of run ``name`` of a notebook. A name the
    notebook's run list does not make is an error listing the names it does make (never "pending")."""
    configs = [c for c in runs_for(notebook, profile) if c["name"] == name]
    if not configs:
        names = sorted({c["name"] for c in runs_for(notebook, profile)})
        raise KeyError(f"no run {name!r} in {_notebook_name(notebook)} ({profile} profile); its runs: {', '.join(names)}")
    if seed is not None:
        configs = [c for c in configs if c["seed"] == seed]
        if not configs:
            raise KeyError(f"run {name!r} of {_notebook_name(notebook)} ({profile}) has no seed {seed}")
    return configs


def runs_for(notebook: str, profile: str) -> list[dict]:
    """The configs of every run ``notebook`` (a name like "00_data" or a path to the .ipynb) needs, each the
    full resolved recipe (every default filled in by its task's recipe class)."""
    check_profile(profile)
    return [resolve_config(c) for c in NOTEBOOKS[_notebook_name(notebook)](profile)]

