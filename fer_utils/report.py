"""Tables of a chapter, built only from stored runs: collect them, group by name, set the paper's numbers
beside ours (mean ± std over seeds)."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

try:
    from IPython import get_ipython
except ImportError:   # the package works without IPython; only notebooks install the table style
    get_ipython = None

from .budget import estimate_minutes
from .experiments import NOTEBOOKS, runs_for
from .paths import RESULTS_DIR
from .profiles import PROFILES
from .runs import CacheMiss, Run, count_status, run_or_load, run_status, stored_runs

METRICS = (("macro_f1", "F1"), ("accuracy", "Acc"), ("abaw_overall", "Overall"))


def aggregate(runs: list[Run], metrics=("macro_f1", "accuracy")):
    """Mean and std over seeds of each group of runs sharing a name; one row per name."""
    rows = [{"name": r.config["name"], "seed": r.config.get("seed"), **{m: r.final.get(m) for m in metrics},
             "train_seconds": r.provenance.get("train_seconds"), "images_per_s": r.provenance.get("images_per_s")}
            for r in runs]
    df = pd.DataFrame(rows)
    out = df.groupby("name", sort=False).agg(
        seeds=("seed", "count"), **{f"{m}_mean": (m, "mean") for m in metrics},
        **{f"{m}_std": (m, lambda s: float(np.std(s, ddof=1)) if len(s) > 1 else 0.0) for m in metrics},
        train_seconds=("train_seconds", "mean"), images_per_s=("images_per_s", "mean"))
    return out


def mean_std(values, digits: int = 3, scale: float = 1.0) -> str:
    """'m ± s' over seeds (sample std), e.g. for a table cell; one value gives just 'm'."""
    v = np.asarray(values, dtype=float) * scale
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def collect(configs: list[dict], train: bool = True, progress: bool = False) -> tuple[list[Run], list[dict]]:
    """run_or_load every config; returns (stored or trained runs, configs with nothing stored)."""
    runs, missing = [], []
    for config in configs:
        try:
            runs.append(run_or_load(config, train=train, progress=progress))
        except CacheMiss:
            missing.append(config)
    return runs, missing


class ChapterRuns(list):
    """A chapter's stored runs, knowing every run name of its run list on any profile (``names``), stored or
    not."""

    def __init__(self, runs, names):
        super().__init__(runs)
        self.names = frozenset(names)


class RunGroups(dict):
    """{run name: stored runs}, knowing every name of the run list (``names``): asking for a name that is not
    in the list is an error naming it, never a silent *pending*."""

    def __init__(self, groups, names=None):
        super().__init__(groups)
        self.names = frozenset(names) if names is not None else None

    def runs(self, name: str) -> list[Run]:
        if self.names is not None and name not in self.names:
            close = sorted(n for n in self.names if n.split("-")[0] == name.split("-")[0])[:8]
            raise KeyError(f"no run {name!r} in this chapter's run list (similar: {', '.join(close) or 'none'})")
        return self.get(name, [])


def runs_of(groups: dict, name: str) -> list[Run]:
    """The stored runs of ``name``: a KeyError for a name outside the run list (RunGroups), [] if none stored."""
    return groups.runs(name) if isinstance(groups, RunGroups) else groups.get(name, [])


def group_runs(runs: list[Run]) -> RunGroups:
    """The runs grouped by name; from ``chapter_status``'s runs the groups know the run list's names."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(r.config["name"], []).append(r)
    return RunGroups(groups, getattr(runs, "names", None))


def values(groups: dict, name: str, metric: str = "macro_f1") -> list[float]:
    """The final ``metric`` of every stored seed (or fold) of run ``name``; a dotted metric reads a nested
    entry, e.g. "cross.accuracy" (the other dataset's score). A name outside the run list is a KeyError."""
    out = []
    for r in runs_of(groups, name):
        v = r.final
        for key in metric.split("."):
            v = v[key]
        out.append(v)
    return out


def cell(groups: dict, name: str, metric: str = "macro_f1", digits: int = 3, scale: float = 1.0) -> str:
    """'mean ± std' over the seeds of run ``name`` ('pending' when nothing is stored); ``scale=100`` for %."""
    v = values(groups, name, metric)
    return mean_std(v, digits, scale) if v else "pending"


def mean(groups: dict, name: str, metric: str = "macro_f1") -> float:
    v = values(groups, name, metric)
    return float(np.mean(v)) if v else float("nan")


def per_class_f1_table(groups: dict, columns: dict[str, str], class_names) -> pd.DataFrame:
    """Per-class F1 on the test split, mean over the stored seeds: one column per entry
    {column label: run name} whose run is stored, one row per class (the order of ``class_names``).
    A stored run without a per-class score for a class is an error naming run and class."""
    table = {}
    for label, name in columns.items():
        seeds = runs_of(groups, name)
        if not seeds:
            continue
        rows = []
        for r in seeds:
            per = r.final.get("per_class_f1", {})
            missing = [c for c in class_names if c not in per]
            if missing:
                raise KeyError(f"run {name} (seed {r.config.get('seed')}): no per-class F1 for {missing}")
            rows.append([per[c] for c in class_names])
        table[f"{label} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})"] = np.mean(rows, axis=0)
    return pd.DataFrame(table, index=list(class_names))


def comparison_table(rows: list[dict], groups: dict, metrics=METRICS) -> pd.DataFrame:
    """One row per entry {"row": label, "run": run name or None, "paper": {metric: value}}: the paper's
    numbers beside ours, with the number of seeds."""
    out = []
    for row in rows:
        rec = {"": row["row"]}
        for key, label in metrics:
            paper = row.get("paper", {}).get(key)
            rec[f"paper {label}"] = "—" if paper is None else f"{paper:.3f}"
        for key, label in metrics:
            rec[f"ours {label}"] = cell(groups, row["run"], key) if row.get("run") else "—"
        rec["seeds"] = len(runs_of(groups, row["run"])) if row.get("run") else 0
        out.append(rec)
    return pd.DataFrame(out).set_index("")


_NEG_ZERO = re.compile(r"^-(0(?:\.0+)?)$")


def _cell(value):
    """One table cell as the book shows it: "—" for missing, no negative zero, a value and its spread on one
    line ("0.471 ± 0.004" with no-break spaces)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (float, np.floating)):
        text = f"{float(value) + 0.0:.6g}"              # + 0.0 turns -0.0 into 0.0
        return _NEG_ZERO.sub(r"\1", text)
    if isinstance(value, str):
        value = _NEG_ZERO.sub(r"\1", value.strip()) if _NEG_ZERO.match(value.strip()) else value
        return value.replace(" ± ", "\u00a0±\u00a0")
    return value


def _header(name) -> str:
    """A readable header: snake_case words spaced ("valid_accuracy_flip_tta" -> "valid accuracy flip tta")."""
    text = "" if name is None else str(name)
    return text.replace("_", " ") if "_" in text and " " not in text else text


def book_table(df: pd.DataFrame) -> pd.DataFrame:
    """The book's one table style, as a DataFrame of display strings: readable headers, the index as the first
    column under its own name in one header row (an unnamed 0..n index dropped), "—" for missing values, no
    -0.0, "mean ± std" kept on one line."""
    out = df.copy()
    if isinstance(out.index, pd.RangeIndex) and out.index.name is None:
        out = out.reset_index(drop=True)
    else:
        names = [_header(n) if n is not None else "" for n in out.index.names]
        out.index = out.index.set_names(names)
        out = out.reset_index()
    out.columns = [" / ".join(_header(c) for c in col if str(c)) if isinstance(col, tuple) else _header(col)
                   for col in out.columns]
    return out.apply(lambda col: col.map(_cell))


def book_html(df: pd.DataFrame) -> str:
    """``book_table`` as HTML (what the chapters' tables render as, ``install_table_style``)."""
    return book_table(df).to_html(index=False, escape=True, na_rep="—", classes="book-table", border=0)


def install_table_style(shell=None) -> None:
    """Show every DataFrame of this IPython session in the book's table style (``book_html``)."""
    if shell is None:
        shell = get_ipython() if get_ipython is not None else None
    if shell is None:
        raise RuntimeError("install_table_style: not running inside IPython (a notebook or kernel)")
    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, book_html)


class Text(str):
    """A string that displays without quotes, e.g. to glue words into the book's prose with {glue:text}."""

    def __repr__(self) -> str:
        return str(self)


def chapter_status(notebook: str, profile: str, train: bool = False, configs=None) -> tuple[list[Run], str]:
    """The stored runs of a chapter (its run list through the run cache, ``runs.stored_runs``) and a Markdown
    line saying how many are stored, stale (stored under older code: never shown), corrupt and missing, with
    the command that trains them. With ``train`` (the smoke profile in CI) missing runs are trained first.
    ``configs``: the chapter's run list changed by a parameter (e.g. chapter 3 on Aff-Wild2)."""
    rows = stored_runs(runs_for(notebook, profile) if configs is None else configs, train=train)
    # the names a chapter may ask for: its run list on every profile (the smoke profile runs a reduced list)
    names = {c["name"] for c, _, _ in rows}
    if notebook in NOTEBOOKS:
        names |= {c["name"] for p in PROFILES for c in runs_for(notebook, p)}
    runs = ChapterRuns([run for _, _, run in rows if run is not None], names)
    counts = count_status(st for _, st, run in rows if run is None)
    todo = sum(estimate_minutes(c) for c, _, run in rows if run is None)
    text = f"**{len(runs)} of {len(rows)} {profile}-profile runs are stored.**"
    if runs:
        text += " " + trained_on(runs)
    if counts["stale"] or counts["missing"] or counts["corrupt"]:
        corrupt = f", {counts['corrupt']} corrupt (unreadable, trained again)" if counts["corrupt"] else ""
        text += (f" {counts['stale']} stale (stored under older code, not shown){corrupt} and {counts['missing']} "
                 f"missing, about {todo:.0f} CPU minutes: train them with `python -m fer_utils.reproduce "
                 f"notebooks/{notebook}.ipynb --profile {profile}`; the tables say *pending* until then.")
    return runs, text


def borrowed_runs(sources: dict[str, tuple[str, str]], profile: str, train: bool = False) -> tuple[RunGroups, str]:
    """Rows a chapter reads from another chapter's run list (Protocol 2: every single-network baseline is chapter
    0's run): {local name: (notebook, run name)}. Returns (RunGroups under the local names, a Markdown status
    line). A name that chapter's run list does not make is a KeyError (``experiments.run_config``)."""
    groups, lines = {}, []
    for alias, (notebook, name) in sources.items():
        configs = [c for c in runs_for(notebook, profile) if c["name"] == name]
        if not configs:
            raise KeyError(f"no run {name!r} in {notebook}'s {profile}-profile run list")
        runs, _ = chapter_status(notebook, profile, train=train, configs=configs)
        groups[alias] = list(runs)
        lines.append(f"`{name}` of {notebook}: {len(runs)} of {len(configs)} stored")
    return RunGroups({k: v for k, v in groups.items() if v}, sources), "Read from other chapters: " + "; ".join(lines) + "."


def merged(*groups: RunGroups) -> RunGroups:
    """One RunGroups of several (a chapter's own runs and its borrowed ones); every name stays askable."""
    out, names = {}, set()
    for g in groups:
        out.update(g)
        names |= set(g.names) if g.names is not None else set(g)
    return RunGroups(out, names)


def count_runs(groups: dict, name: str, test) -> tuple[int, int]:
    """(how many stored runs of row ``name`` pass ``test(run)``, how many are stored)."""
    runs = runs_of(groups, name)
    return sum(bool(test(r)) for r in runs), len(runs)


def trained_on(runs) -> str:
    """Where a chapter's stored runs trained, from their provenance: the precision, CPU capability and torch
    threads of each kind of machine, with run counts and the median training minutes per run (bf16 machines
    train the compact nets about twice as fast as fp32-only ones, and bf16 and fp32 runs of one config differ
    numerically; a one-thread run is slower alone, but ``reproduce --jobs 2`` trains two at a time)."""
    kinds: dict[tuple, list[float]] = {}
    for run in runs:
        p = run.provenance
        key = (p.get("precision", "?"), p.get("cpu_capability") or p.get("device", "?"), p.get("threads"))
        kinds.setdefault(key, []).append(float(p.get("train_seconds", float("nan"))) / 60)
    parts = [f"{len(m)} in {prec} ({cap} CPU{_threads(threads)}, median {np.nanmedian(m):.1f} training min a run)"
             for (prec, cap, threads), m in sorted(kinds.items(), key=lambda kv: -len(kv[1]))]
    return "Trained: " + "; ".join(parts) + "."


def _threads(n) -> str:
    return "" if n is None else f", {n} thread{'s' if n != 1 else ''}"


def benchmark(name: str) -> dict | None:
    """A committed benchmark record, results/benchmarks/<name>.json (None if it was never run)."""
    path = RESULTS_DIR / "benchmarks" / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def status_table(profile: str, notebooks=None) -> pd.DataFrame:
    """Per chapter: runs stored, stale (stored under older code), corrupt and missing, and the estimated CPU
    minutes still to train, for a profile (chapter 6's run-status table; ``reproduce --status`` prints the same)."""
    rows = {}
    for nb in notebooks or NOTEBOOKS:
        configs = runs_for(nb, profile)
        status = [run_status(c) for c in configs]
        rows[nb] = count_status(status)
        rows[nb]["CPU min to train"] = round(sum(estimate_minutes(c) for c, st in zip(configs, status) if st != "stored"))
    return pd.DataFrame(rows).T


def source_name(record) -> str:
    """Where a record came from without the machine's path (``FaceData.source_name``)."""
    return record.source_name


def summary(record) -> str:
    """``record.summary()``: size, labels, class counts and skips, with no machine path."""
    return record.summary()
