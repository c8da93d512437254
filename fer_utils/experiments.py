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

SSL_ALL_LABELS = "ssl-all-labels-train-pool"   # chapter 6's teacher/student runs on all the labels


def leaderboard_chapter(profile: str) -> list[dict]:
    """06_leaderboard: only the runs a fair comparison still lacks (every other row is a chapter's run):
    teacher/student with feedback on all the labels (its chapter uses 10%; self-training on majority labels is
    chapter 4's own one-seed row under Protocol 2, the ensemble's seeds are chapter 5's)."""
    seeds = [0] if check_profile(profile) == "smoke" else [0, 1, 2]
    ssl = {c["name"]: c for c in ssl_runs.chapter_runs(profile)}
    runs = []
    base = {k: v for k, v in ssl[ssl_runs.run_name("ssl")].items() if k not in ("clips", "temporal")}
    base = {**base, "task": "ssl_all_labels", "notebook": "06_leaderboard", "labelled_fraction": 1.0}
    # Teacher/student on all the labels (task ssl_all_labels): every FER+ train face also enters the
    # unlabelled stream with its label hidden (FixMatch's convention), with chapter 3's CK+ faces. Two earlier
    # attempts used chapter 3's pool, which with all the labels is only FER+'s 181 faces without a majority
    # label plus CK+ (1,162 faces, 84% posed CK+ faces): with chapter 3's student lr 0.05 the feedback of
    # Eq. 5-6 ran away in the first epoch; at lr 0.01 f stayed small, but the student, which learns only from
    # pseudo-labels on that pool, collapsed (seeds 0 and 1: FER+ Test macro F1 0.052 and 0.066). Those runs
    # are in the repository's history, not in this list, which keeps the book within its 10-hour budget.
    # The student steps at the recipe's default lr 0.01 (Face2Exp's value, the gpu profile's); the teacher
    # keeps the profile's lr.
    for labels in (("single_annotator",) if profile == "smoke" else ("single_annotator", "majority")):
        # cpu: the majority row gets one seed, as in chapter 3 (a clean reference, no claim rests on it)
        runs += [{**base, "name": f"{SSL_ALL_LABELS}-{labels}", "labels": labels, "student_lr": 0.01, "seed": seed}
                 for seed in (seeds[:1] if labels == "majority" and profile == "cpu" else seeds)]
    return runs


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

