"""Figures read cleanly: legends sit outside the data area and category tick labels do not overlap."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from fer_utils import plots  # noqa: E402


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_legends_never_cover_the_data_and_tick_labels_never_overlap():
    table = pd.DataFrame({"stored": [9, 0, 0], "stale": [0, 41, 26], "missing": [3, 0, 13]},
                         index=["00_data", "01_abaw5_expression", "02_cct"])   # chapter 6's run status
    figs = [plots.grouped_bars(table, "runs", "runs"),
            plots.lines(np.arange(30), {f"series {i}": np.linspace(0, 1, 30) ** (i + 1) for i in range(6)},
                        "t", "epoch", "value")]
    for fig in figs:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend = ax.get_legend()
        assert legend is not None and not _overlap(legend.get_window_extent(renderer), ax.get_window_extent(renderer))
        ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert all(not _overlap(a, b) for i, a in enumerate(ticks) for b in ticks[i + 1:]), "x tick labels overlap"
        matplotlib.pyplot.close(fig)
