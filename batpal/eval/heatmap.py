"""``cross_table.png``: the cross table as an annotated heatmap, rows attacks and columns defenders (Figure 2)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402

from batpal.atomic import savefig_atomic  # noqa: E402
from batpal.eval.cross_table import Cell, matrix  # noqa: E402


def plot_cross_table(cells: Sequence[Cell], path: str | Path, title: str, metric: str) -> None:
    """Colour 0 (red) .. 1 (green), each cell annotated with its value; NaN cells left blank."""
    rows, cols, values = matrix(cells)
    fig, ax = plt.subplots(layout="constrained", figsize=(2.8 + 1.1 * len(cols), 1.0 + 0.45 * len(rows)))
    image = ax.imshow(values, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(cols)), labels=cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel("defender")
    ax.set_ylabel("attack")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            if not math.isnan(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9)
    fig.colorbar(image, ax=ax, label=metric)
    ax.set_title(title)
    savefig_atomic(fig, path, dpi=120)
    plt.close(fig)
