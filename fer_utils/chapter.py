"""One call sets a chapter up: display options (compact figures, the book's table style), its budget, the FER+ training split it describes, its stored
runs (and the rows it reads from other chapters, e.g. chapter 0's single network) and the status line.

    ch = chapter.setup("02_cct", profile, train_missing, borrow={"one network-majority": ("00_data", "resnet18-majority")})
    ch.groups, ch.recipe, ch.train; display(Markdown(ch.status))
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import plots, report
from .data import load_ferplus
from .papers.abaw5_expression import runs as ae_runs
from .papers.abaw5_multitask import runs as mt_runs
from .papers.cct import runs as cct_runs
from .papers.self_training import runs as st_runs
from .papers.ssl_temporal import runs as ssl_runs
from .tasks import data_root_for

# each chapter's run-list module (its ``budget(profile)`` is what the chapter's prose quotes)
RUN_LISTS = {"01_abaw5_expression": ae_runs, "02_cct": cct_runs, "03_ssl_temporal": ssl_runs,
             "04_self_training": st_runs, "05_abaw5_multitask": mt_runs}


@dataclass
class Chapter:
    """What a chapter's first cell gives the rest of it."""
    notebook: str
    profile: str
    recipe: dict                   # the profile's budget: data, chapter knobs, recipe overrides
    groups: report.RunGroups       # stored runs by name: the chapter's own and the borrowed rows
    status: str                    # Markdown: stored / stale / missing runs, and what is read from other chapters
    train: object | None           # the FER+ training split (FaceData), if asked for


def setup(notebook: str, profile: str, train_missing: bool = False, borrow: dict | None = None,
          load_train: bool = True, shell=None, configs: list[dict] | None = None) -> Chapter:
    """Set a chapter up: matplotlib figures embedded as compact PNGs, pandas showing whole cells, the profile's
    budget (``papers/<paper>/runs.py``), the FER+ training split (``load_train``), the chapter's stored runs
    (missing ones trained first with ``train_missing``: the smoke profile in CI) and ``borrow``'s rows from
    other chapters ({local name: (notebook, run name)}, ``report.borrowed_runs``), merged into one RunGroups.
    ``configs``: the chapter's run list changed by a parameter (chapter 3 on Aff-Wild2's videos)."""
    if notebook not in RUN_LISTS:
        raise ValueError(f"chapter.setup: {notebook!r} is not a method chapter ({', '.join(RUN_LISTS)})")
    plots.display_compact_figures(shell)   # the committed notebooks stay small
    report.install_table_style(shell)      # every table in the book's one style
    pd.set_option("display.max_colwidth", None)   # tables show whole verdict reasons
    recipe = RUN_LISTS[notebook].budget(profile)
    runs, status = report.chapter_status(notebook, profile, train=train_missing, configs=configs)
    groups = report.group_runs(runs)
    if borrow:
        borrowed, line = report.borrowed_runs(borrow, profile, train=train_missing)
        groups, status = report.merged(groups, borrowed), f"{status} {line}"
    train = load_ferplus("train", data_root_for(recipe)) if load_train else None
    return Chapter(notebook, profile, recipe, groups, status, train)
