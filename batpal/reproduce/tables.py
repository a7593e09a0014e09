"""A table over seeds: ``<table>.csv`` (one line per cell: ``attack, defender, mean, ci95_low, ci95_high, seeds,
episodes, paper``), ``<table>.md`` and ``<table>.png`` (the heatmap of the same means).

The mean is over seeds of each seed's figure; its 95% interval is Student's t over the seeds (2 or more), or the
normal interval of the one seed's episodes. ``episodes`` counts every episode behind the cell (all seeds and
victims). ``paper`` is the paper's value, blank where the paper reports none (also for transferred attacks,
which are not its protocol).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

from batpal.atomic import atomic_write, write_text_atomic
from batpal.eval.cross_table import Cell
from batpal.eval.heatmap import plot_cross_table
from batpal.reproduce.layout import Table
from batpal.reproduce.results import Figure

COLUMNS = ("attack", "defender", "mean", "ci95_low", "ci95_high", "seeds", "episodes", "paper")


@dataclass(frozen=True)
class Line:
    attack: str
    defender: str
    mean: float
    ci95_low: float
    ci95_high: float
    seeds: int
    episodes: int
    paper: float | None


def summarise(table: Table, per_seed: Sequence[dict[tuple[str, str], Figure]], paper: dict) -> list[Line]:
    """One line per (row, column) present in every seed, in the table's order (rows, then columns)."""
    lines = []
    for row in table.rows:
        for column in table.columns:
            figures = [cells[row.label, column.label] for cells in per_seed if (row.label, column.label) in cells]
            if not figures:
                continue
            mean, low, high = interval(figures)
            lines.append(Line(row.label, column.label, mean, low, high, len(figures),
                              sum(f.episodes for f in figures), paper.get((row.label, column.label))))
    return lines


def interval(figures: Sequence[Figure]) -> tuple[float, float, float]:
    """(mean, low, high): t over seeds, or the normal interval of one seed's episodes."""
    values = [f.value for f in figures]
    n, mean = len(values), sum(values) / len(values)
    if n == 1:
        half = 1.96 * figures[0].se if math.isfinite(figures[0].se) else math.nan
    else:
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def write_table(lines: Sequence[Line], out_dir: Path, name: str, title: str, metric: str, caption: str) -> list[Path]:
    """``<name>.csv``, ``<name>.md`` and ``<name>.png`` in ``out_dir``; returns their paths."""
    csv_path, md_path, png_path = (out_dir / f"{name}.{ext}" for ext in ("csv", "md", "png"))
    with atomic_write(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for line in lines:
            writer.writerow([line.attack, line.defender, _num(line.mean), _num(line.ci95_low), _num(line.ci95_high),
                             line.seeds, line.episodes, _num(line.paper)])
    write_text_atomic(md_path, markdown(lines, title, caption))
    cells = [  # the heatmap colours Cell.value: the mean, as normalised return or (SMAC) win rate
        Cell(attack=line.attack, defender=line.defender, episodes=line.episodes, return_mean=math.nan,
             return_se=math.nan, return_normalized=line.mean, return_normalized_se=None, win_rate=None,
             win_rate_se=None, seconds=0.0)
        for line in lines
    ]
    plot_cross_table(cells, png_path, title, metric)
    return [csv_path, md_path, png_path]


def markdown(lines: Sequence[Line], title: str, caption: str) -> str:
    """Rows attacks, columns defenders; each cell ``ours (paper)``."""
    rows = list(dict.fromkeys(line.attack for line in lines))
    cols = list(dict.fromkeys(line.defender for line in lines))
    lookup = {(line.attack, line.defender): line for line in lines}
    out = [f"## {title}", "", f"| attack | {' | '.join(cols)} |", "|---" * (len(cols) + 1) + "|"]
    for r in rows:
        cells = []
        for c in cols:
            line = lookup.get((r, c))
            text = "" if line is None else f"{line.mean:.2f}" + ("" if line.paper is None else f" ({line.paper:.2f})")
            cells.append(text)
        out.append(f"| {r} | {' | '.join(cells)} |")
    return "\n".join([*out, "", caption, ""])


def _num(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"
