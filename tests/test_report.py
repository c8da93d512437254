import numpy as np
import pandas as pd
import pytest

from fer_utils import report
from fer_utils.runs import Run


def fake(name, seed, f1):
    return Run(dir=None, config={"name": name, "seed": seed}, metrics={"final": {"macro_f1": f1, "accuracy": 0.5,
                                                                               "abaw_overall": 0.67 * f1 + 0.165}},
               provenance={})


def test_comparison_table_sets_paper_beside_ours():
    groups = report.group_runs([fake("cct", 0, 0.40), fake("cct", 1, 0.42), fake("base", 0, 0.30)])
    table = report.comparison_table([{"row": "CCT", "run": "cct", "paper": {"macro_f1": 0.404}},
                                     {"row": "baseline", "run": "base", "paper": {"macro_f1": 0.30}},
                                     {"row": "missing", "run": "nope", "paper": {}}], groups)
    assert table.loc["CCT", "paper F1"] == "0.404" and table.loc["CCT", "ours F1"] == "0.410 ± 0.014"
    assert table.loc["baseline", "ours F1"] == "0.300" and table.loc["baseline", "seeds"] == 1
    assert table.loc["missing", "ours F1"] == "pending" and table.loc["missing", "paper Acc"] == "—"
    assert report.mean(groups, "cct") == pytest.approx(0.41)
    assert np.isnan(report.mean(groups, "nope"))


def test_values_read_nested_metrics_and_cells_scale_to_percent():
    runs = [Run(dir=None, config={"name": "ck", "seed": 0}, provenance={},
                metrics={"final": {"accuracy": a, "cross": {"accuracy": c}}}) for a, c in ((0.9, 0.4), (1.0, 0.5))]
    groups = report.group_runs(runs)
    assert report.values(groups, "ck", "cross.accuracy") == [0.4, 0.5]
    assert report.cell(groups, "ck", "accuracy", digits=1, scale=100) == "95.0 ± 7.1"


def test_trained_on_counts_runs_per_machine_kind_from_provenance():
    prov = [{"precision": "bf16", "cpu_capability": "AVX512", "train_seconds": 60},
            {"precision": "bf16", "cpu_capability": "AVX512", "train_seconds": 180},
            {"precision": "bf16", "cpu_capability": "AVX512", "train_seconds": 120},
            {"precision": "fp32", "cpu_capability": "AVX2", "train_seconds": 300, "threads": 2},
            {"precision": "fp32", "cpu_capability": "AVX2", "train_seconds": 420, "threads": 1},
            {"precision": "fp32", "cpu_capability": "AVX2", "train_seconds": 540, "threads": 1}]
    runs = [Run(dir=None, config={"name": "r", "seed": i}, metrics={}, provenance=p) for i, p in enumerate(prov)]
    assert report.trained_on(runs) == ("Trained: 3 in bf16 (AVX512 CPU, median 2.0 training min a run); "
                                       "2 in fp32 (AVX2 CPU, 1 thread, median 8.0 training min a run); "
                                       "1 in fp32 (AVX2 CPU, 2 threads, median 5.0 training min a run).")


def test_count_runs_counts_the_stored_runs_of_a_row_that_pass_a_test():
    groups = report.group_runs([fake("st", 0, 0.4), fake("st", 1, 0.2), fake("st", 2, 0.5)])
    assert report.count_runs(groups, "st", lambda r: r.final["macro_f1"] > 0.3) == (2, 3)
    assert report.count_runs(groups, "missing", lambda r: True) == (0, 0)


def test_per_class_f1_table_averages_seeds_per_class_and_skips_missing_rows():
    def run(name, seed, per):
        return Run(dir=None, config={"name": name, "seed": seed}, provenance={},
                   metrics={"final": {"per_class_f1": dict(zip(("a", "b"), per))}})
    groups = report.group_runs([run("cct", 0, (0.2, 0.6)), run("cct", 1, (0.4, 0.8)), run("base", 0, (0.1, 0.0))])
    t = report.per_class_f1_table(groups, {"CCT": "cct", "1 net": "base", "not trained": "nope"}, ("b", "a"))
    assert list(t.columns) == ["CCT (2 seeds)", "1 net (1 seed)"] and list(t.index) == ["b", "a"]
    assert t.loc["b", "CCT (2 seeds)"] == pytest.approx(0.7) and t.loc["a", "CCT (2 seeds)"] == pytest.approx(0.3)
    assert t.loc["a", "1 net (1 seed)"] == pytest.approx(0.1)
    with pytest.raises(KeyError, match="run cct .*'c'"):
        report.per_class_f1_table(groups, {"CCT": "cct"}, ("a", "c"))


def test_compact_png_is_a_smaller_palette_png_of_the_same_figure():
    """Figures embedded in the committed notebooks: a palette PNG, same pixel size as matplotlib's own
    cropped PNG, fewer bytes, and pixels within a few levels of the original."""
    import io

    import matplotlib
    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell
    from PIL import Image

    from fer_utils import plots
    fig = plots.bars(np.array([0.1, 0.5, 0.3]), ["a", "b", "c"], "title", "y")
    compact = plots.compact_png(fig)
    full = io.BytesIO()
    fig.savefig(full, format="png", bbox_inches="tight", facecolor="white")
    a, b = Image.open(io.BytesIO(compact)), Image.open(io.BytesIO(full.getvalue()))
    assert a.mode == "P" and a.size == b.size
    assert len(compact) < len(full.getvalue())
    diff = np.abs(np.asarray(a.convert("RGB"), dtype=int) - np.asarray(b.convert("RGB"), dtype=int))
    assert np.percentile(diff, 99) <= 8
    shell = InteractiveShell.instance()
    plots.display_compact_figures(shell)
    assert shell.display_formatter.formatters["image/png"](fig) == compact


def test_a_name_outside_the_run_list_is_an_error_not_pending():
    from fer_utils.report import ChapterRuns, RunGroups, cell, group_runs
    stored = Run(None, {"name": "cct-majority", "seed": 0}, {"final": {"macro_f1": 0.5}}, {})
    groups = group_runs(ChapterRuns([stored], ["cct-majority", "cct-single_annotator"]))
    assert isinstance(groups, RunGroups)
    assert cell(groups, "cct-majority") == "0.500"
    assert cell(groups, "cct-single_annotator") == "pending"          # in the list, not stored yet
    with pytest.raises(KeyError, match="no run 'cct-majorty'.*similar: cct-majority"):
        cell(groups, "cct-majorty")                                  # a misspelt name


def test_a_chapter_reads_its_baseline_from_chapter_0_under_a_local_name():
    """Protocol 2: the one-network rows of chapters 1-5 are chapter 0's stored runs (committed under results/),
    read under the chapter's own row names and merged with its runs; a name chapter 0 does not make is an error."""
    from fer_utils import report
    borrowed, status = report.borrowed_runs({"one-net": ("00_data", "resnet18-majority")}, "cpu")
    assert len(report.runs_of(borrowed, "one-net")) == 3 and "`resnet18-majority` of 00_data: 3 of 3 stored" in status
    assert all(r.config["labels"] == "majority" for r in borrowed["one-net"])
    groups = report.merged(report.RunGroups({}, {"cct-x"}), borrowed)
    assert report.runs_of(groups, "cct-x") == [] and len(report.values(groups, "one-net")) == 3
    with pytest.raises(KeyError, match="no run 'resnet18-majorty' in 00_data"):
        report.borrowed_runs({"x": ("00_data", "resnet18-majorty")}, "cpu")


def test_one_call_sets_a_chapter_up():
    """chapter.setup: display options, the profile's budget, the chapter's runs merged with borrowed rows (a
    name outside both is an error), the status line naming what is read from chapter 0."""
    from types import SimpleNamespace

    from fer_utils import chapter
    registered = {}
    png = SimpleNamespace(for_type=lambda cls, f: registered.setdefault(cls.__name__, f))
    html = SimpleNamespace(for_type=lambda cls, f: registered.setdefault(cls.__name__, f))
    shell = SimpleNamespace(display_formatter=SimpleNamespace(formatters={"image/png": png, "text/html": html}))
    ch = chapter.setup("02_cct", "cpu", borrow={"one network-majority": ("00_data", "resnet18-majority")},
                       load_train=False, shell=shell)
    assert "Figure" in registered and registered["DataFrame"] is report.book_html and ch.train is None
    assert ch.recipe["train"]["optimizer"] == "sgd" and ch.recipe["seeds"] == [0, 1, 2]
    assert len(report.runs_of(ch.groups, "one network-majority")) == 3
    assert isinstance(report.runs_of(ch.groups, "cct-single_annotator"), list)
    assert "cpu-profile runs are stored" in ch.status and "`resnet18-majority` of 00_data: 3 of 3 stored" in ch.status
    with pytest.raises(KeyError, match="no run 'cct-singel'"):
        report.runs_of(ch.groups, "cct-singel")
    with pytest.raises(ValueError, match="not a method chapter"):
        chapter.setup("00_data", "cpu", load_train=False, shell=shell)


def test_the_book_table_style():
    """One table style: readable headers, the index's name in the one header row, "—" for missing, no -0.0,
    "mean ± std" on one line (no-break spaces), an unnamed 0..n index dropped."""
    df = pd.DataFrame({"train_minutes": [1.5, np.nan], "gap": [-0.0, 0.25], "macro F1": ["0.471 ± 0.004", "-0.000"],
                       "seeds": [3, None]}, index=pd.Index(["a", "b"], name="claim"))
    t = report.book_table(df)
    assert list(t.columns) == ["claim", "train minutes", "gap", "macro F1", "seeds"]
    assert t["train minutes"].tolist() == ["1.5", "—"] and t["gap"].tolist() == ["0", "0.25"]
    assert t["macro F1"].tolist() == ["0.471\u00a0±\u00a00.004", "0.000"] and t["seeds"].iloc[1] == "—"
    html = report.book_html(df)
    assert html.count("<tr") == 3 and "NaN" not in html and "-0" not in html and 'class="dataframe book-table"' in html
    plain = report.book_table(pd.DataFrame({"x_y": [1, 2]}))
    assert list(plain.columns) == ["x y"] and plain["x y"].tolist() == [1, 2]
