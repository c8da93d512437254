"""Figures the chapters share. Each function takes plain arrays or a FaceData record and returns a
matplotlib Figure (the notebook displays it; nothing is saved behind the reader's back)."""
from __future__ import annotations

import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

try:   # IPython comes with Jupyter; the package itself does not need it
    from IPython import get_ipython
except ImportError:  # pragma: no cover
    get_ipython = None

import io
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from PIL import Image


def compact_png(fig: Figure, colors: int = 256) -> bytes:
    """``fig`` as a palette PNG of at most ``colors`` colours, cropped like the inline backend's figures:
    about half the bytes of matplotlib's RGBA PNG for the book's flat plots, with no visible change. The
    committed notebooks embed every figure, so this keeps the tracked tree small."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    img = Image.open(buf).convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def display_compact_figures(shell=None) -> None:
    """Make this IPython session show (and glue) every matplotlib figure as ``compact_png``. Call it once
    in a notebook's import cell, after matplotlib's inline backend is active."""
    if shell is None:
        shell = get_ipython() if get_ipython is not None else None
    if shell is None:
        raise RuntimeError("display_compact_figures: not running inside IPython (a notebook or kernel)")
    plt.close(plt.figure())   # activate the inline backend first: activating it later would replace the formatter
    shell.display_formatter.formatters["image/png"].for_type(Figure, compact_png)


def legend_outside(ax, **kwargs):
    """The legend to the right of the axes, outside the data area (it never covers a curve or a bar); the
    figure's tight_layout makes room for it."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False,
                     **{"fontsize": 8, **kwargs})


def spaced_ticks(ax, axis: str = "x", max_chars: int = 8) -> None:
    """Category tick labels that do not overlap: rotated (right-aligned) when any is longer than ``max_chars``."""
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    if axis == "x" and any(len(t.get_text()) > max_chars for t in labels):
        ax.tick_params(axis="x", rotation=35)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
            t.set_rotation_mode("anchor")


def image_grid(record, per_class: int = 8, seed: int = 0, title: str | None = None, dpi: int = 64):
    """A grid with one row per class: ``per_class`` random faces of each class of ``record``.
    The low default dpi shows each 48-px face at about its own size (and keeps notebooks small)."""
    rng = np.random.default_rng(seed)
    c = record.num_classes
    fig, axes = plt.subplots(c, per_class, figsize=(per_class * 0.9, c * 0.95), dpi=dpi)
    for i, name in enumerate(record.class_names):
        idx = np.flatnonzero(record.labels == i)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for j in range(per_class):
            ax = axes[i, j]
            ax.axis("off")
            if j < len(pick):
                ax.imshow(record.images[pick[j]], cmap="gray", vmin=0, vmax=255)
        axes[i, 0].text(-4, 24, name, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(left=0.15, wspace=0.05, hspace=0.05)
    if title:
        fig.suptitle(title)
    return fig


def class_distribution(counts: dict[str, dict[str, int]], title: str = "Images per class"):
    """Grouped bars: ``counts[split][class] = n`` (log scale, imbalance is the point)."""
    df = pd.DataFrame(counts)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    df.plot.bar(ax=ax, logy=True, width=0.8)
    ax.set_ylabel("images (log scale)")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def vote_agreement(votes: np.ndarray, labels: np.ndarray, class_names, noise_by_class: np.ndarray):
    """Left: histogram of the share of emotion votes that went to the majority class. Right: the
    single-annotator noise rate of each class (how often one random annotator disagrees)."""
    emotion = votes[:, :8]
    keep = labels >= 0
    share = emotion[keep].max(1) / emotion[keep].sum(1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.2))
    a.hist(share, bins=np.linspace(0, 1, 21), color="tab:blue")
    a.set_xlabel("share of emotion votes for the majority class")
    a.set_ylabel("images")
    a.set_title("Annotator agreement")
    b.bar(list(class_names), noise_by_class, color="tab:red")
    b.set_ylabel("P(single annotator ≠ majority)")
    b.set_title("Single-annotator noise per class")
    b.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def heatmap(matrix: np.ndarray, rows, cols, title: str, fmt: str = ".2f", xlabel: str = "", ylabel: str = "",
            figsize=(6, 5), cmap: str = "viridis"):
    """An annotated heat map of a matrix (transition matrix, confusion matrix, co-occurrence)."""
    fig, ax = plt.subplots(figsize=figsize)
    sns.heatmap(matrix, annot=True, fmt=fmt, xticklabels=list(cols), yticklabels=list(rows), cmap=cmap, ax=ax,
                cbar=False, annot_kws={"fontsize": 7})
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def bars(values, names, title: str, ylabel: str, highlight=None, figsize=(9, 3)):
    """Simple bar chart; names in ``highlight`` are drawn in a second colour."""
    highlight = set(highlight or ())
    fig, ax = plt.subplots(figsize=figsize)
    ax.bar(list(names), values, color=["tab:orange" if n in highlight else "tab:blue" for n in names])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=60)
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, list[dict]], keys=("train_loss", "valid_macro_f1")):
    """One panel per key, one line per run (e.g. clean vs noisy labels)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.2))
    for ax, key in zip(np.atleast_1d(axes), keys):
        for name, hist in histories.items():
            ax.plot([h["epoch"] + 1 for h in hist], [h.get(key, np.nan) for h in hist], marker=".", label=name)
        ax.set_xlabel("epoch")
        ax.set_title(key)
    legend_outside(np.atleast_1d(axes)[-1])
    fig.tight_layout()
    return fig


def lines(x, series: dict[str, np.ndarray], title: str, xlabel: str, ylabel: str, dashed=(), figsize=(7, 3.4)):
    """Several curves over a shared x. Labels in ``dashed`` are drawn dashed, in the colour of the curve whose
    label they extend ("β=4.0 clamped" takes the colour of "β=4.0"), e.g. for the other reading of a formula."""
    fig, ax = plt.subplots(figsize=figsize)
    colours = {}
    for label, y in series.items():
        base = label.rsplit(" ", 1)[0] if label in dashed else None
        line, = ax.plot(x, y, linestyle="--" if label in dashed else "-", color=colours.get(base), label=label)
        colours[label] = line.get_color()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    legend_outside(ax, fontsize=7)
    fig.tight_layout()
    return fig


def binned_rate(x: np.ndarray, hit: np.ndarray, groups: dict[str, np.ndarray], bins, title: str, xlabel: str,
                ylabel: str):
    """For each group (a boolean mask), the rate of ``hit`` in bins of ``x`` (with the count per bin)."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    centres = (np.asarray(bins[:-1]) + np.asarray(bins[1:])) / 2
    for label, mask in groups.items():
        idx = np.digitize(x[mask], bins[1:-1])
        rate = [hit[mask][idx == b].mean() if (idx == b).sum() >= 20 else np.nan for b in range(len(bins) - 1)]
        ax.plot(centres, rate, marker="o", label=f"{label} (n={int(mask.sum())})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    legend_outside(ax)
    fig.tight_layout()
    return fig


def overlaid_hist(values: np.ndarray, groups: dict[str, np.ndarray], title: str, xlabel: str, bins: int = 40):
    """Density histograms of ``values`` for each group (a boolean mask), overlaid."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    edges = np.linspace(np.nanmin(values), np.nanmax(values), bins)
    for label, mask in groups.items():
        ax.hist(values[mask], bins=edges, alpha=0.6, density=True, label=f"{label} (n={int(mask.sum())})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title)
    legend_outside(ax)
    fig.tight_layout()
    return fig


def attention_grid(images: np.ndarray, maps: np.ndarray, titles, title: str):
    """Faces (N, 48, 48) above the same faces overlaid with one attention map each (N, h, w)."""
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n, 2.8), squeeze=False)
    h, w = images.shape[1:]
    for j in range(n):
        axes[0, j].imshow(images[j], cmap="gray")
        axes[0, j].set_title(titles[j], fontsize=8)
        axes[1, j].imshow(images[j], cmap="gray")
        axes[1, j].imshow(maps[j], cmap="jet", alpha=0.45, extent=(0, w - 1, h - 1, 0), interpolation="bilinear")
        axes[0, j].axis("off")
        axes[1, j].axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def faces(images: np.ndarray, captions, title: str, ncols: int = 8):
    """Faces (N, 48, 48) in a grid, each with a caption under it (e.g. its weight and crowd votes)."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.35 * ncols, 2.0 * nrows + 0.4), squeeze=False)
    for j, ax in enumerate(axes.flat):
        ax.axis("off")
        if j < n:
            ax.imshow(images[j], cmap="gray", vmin=0, vmax=255)
            ax.text(0.5, -0.04, captions[j], transform=ax.transAxes, ha="center", va="top", fontsize=6.5)
    fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.45 / (2.0 * nrows + 0.4), bottom=0.06, hspace=0.45, wspace=0.08)
    return fig


def timeline(rows: dict[str, np.ndarray], class_names, title: str):
    """Label sequences of one clip as coloured bands, one band per row (truth, predictions, ...)."""
    k = len(class_names)
    colours = plt.get_cmap("tab10").colors[:k]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.2))
    data = np.stack([np.asarray(v) for v in rows.values()])
    ax.imshow(data, aspect="auto", cmap=ListedColormap(colours), vmin=-0.5, vmax=k - 0.5, interpolation="nearest")
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set_xlabel("frame")
    ax.set_title(title)
    ax.legend(handles=[Patch(color=colours[i], label=c) for i, c in enumerate(class_names)], fontsize=7,
              ncol=k, loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(rows) < 4 else -0.2), frameon=False)
    fig.tight_layout()
    return fig


def grouped_bars(table, title: str, ylabel: str, figsize=(9, 3.2)):
    """A pandas DataFrame as grouped bars: one group per row (index), one bar per column."""
    fig, ax = plt.subplots(figsize=figsize)
    table.plot.bar(ax=ax, rot=0, width=0.8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    spaced_ticks(ax)
    legend_outside(ax)
    fig.tight_layout()
    return fig


def va_plane(panels: dict[str, tuple[np.ndarray, np.ndarray]], anchors: np.ndarray, class_names,
             max_points: int = 3000, seed: int = 0):
    """Valence (x) / arousal (y) planes side by side. panels: {title: (points (N, 2), colour class (N,))};
    ``anchors`` (C, 2): each class's own position, drawn as labelled stars on every panel."""
    rng = np.random.default_rng(seed)
    colours = sns.color_palette("tab10", len(class_names))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.2), squeeze=False)
    for ax, (title, (points, cls)) in zip(axes[0], panels.items()):
        pick = rng.choice(len(points), size=min(max_points, len(points)), replace=False)
        ax.scatter(points[pick, 0], points[pick, 1], s=4, alpha=0.35,
                   c=[colours[c] if c >= 0 else (0.6, 0.6, 0.6) for c in cls[pick]])
        for c, name in enumerate(class_names):
            if not np.isnan(anchors[c]).any():
                ax.scatter(*anchors[c], marker="*", s=160, color=colours[c], edgecolor="black", zorder=3)
                ax.annotate(name, anchors[c], xytext=(4, 4), textcoords="offset points", fontsize=8)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence", ylabel="arousal", title=textwrap.fill(title, 32))
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        ax.yaxis.set_major_locator(plt.MaxNLocator(5))
    fig.tight_layout()
    return fig


def accuracy_vs_minutes(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str, ylabel: str = "accuracy",
                        target: float | None = None, figsize=(7, 3.4)):
    """Time to accuracy: one curve per label of (cumulative training minutes, score); ``target`` a dotted line."""
    fig, ax = plt.subplots(figsize=figsize)
    for label, (minutes, score) in curves.items():
        ax.plot(minutes, score, marker=".", label=label)
    if target is not None:
        ax.axhline(target, color="grey", linestyle=":", linewidth=1, label=f"target {target:g}")
    ax.set_xlabel("training minutes (2 CPU cores)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    legend_outside(ax, fontsize=7)
    fig.tight_layout()
    return fig


def horizontal_bars(table, title: str, xlabel: str, figsize=(8, 3.6), errors=None):
    """A pandas DataFrame as horizontal grouped bars (long row names, e.g. methods): one group per row,
    one bar per column; ``errors``: a DataFrame of the same shape with each bar's symmetric error (e.g. a 95%
    confidence interval's half-width; NaN draws none); an empty table (nothing stored yet) gives a figure
    that says so."""
    fig, ax = plt.subplots(figsize=figsize)
    if table.notna().to_numpy().any():
        xerr = None if errors is None else errors.reindex_like(table)   # NaN: no error bar drawn
        table.plot.barh(ax=ax, width=0.8, xerr=xerr, capsize=3 if xerr is not None else 0)
        ax.invert_yaxis()
        legend_outside(ax)
    else:
        ax.text(0.5, 0.5, "no run committed yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def budget_sweep(sweeps: dict[str, dict], title: str, figsize=(8, 3.6)):
    """Protocol 2's budget sweep: FER+ Valid macro F1 per epoch of every budget, one colour per budget, solid
    for the clean (majority) labels and dashed for single-annotator labels. ``sweeps``: {label kind: the
    benchmark record of ``benchmarks/time_to_accuracy.py --labels``}."""
    fig, ax = plt.subplots(figsize=figsize)
    budgets = sorted({row["epochs"] for record in sweeps.values() for row in record["rows"]})
    colours = dict(zip(budgets, plt.cm.viridis(np.linspace(0.05, 0.85, len(budgets)))))
    for kind, record in sweeps.items():
        for row in record["rows"]:
            epochs = [c["epoch"] + 1 for c in row["curve"]]
            ax.plot(epochs, [c["valid_macro_f1"] for c in row["curve"]], color=colours[row["epochs"]],
                    linestyle="-" if kind == "majority" else "--", linewidth=1.2,
                    label=f"{row['epochs']} epochs, {'majority' if kind == 'majority' else 'single annotator'}")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel("FER+ Valid macro F1")
    ax.set_title(title)
    legend_outside(ax, fontsize=7)
    fig.tight_layout()
    return fig
