"""Per seed, every table cell's figure, read from the evaluation steps' ``cross_table.csv``.

A cell is (attack row, defender column) of one seed: the paper's figure (normalised return, or win rate on SMAC),
its standard error over episodes and the episodes played (all victims). KT's No attack cell pools the no-attack
episodes of that seed's KT evaluations (one per row).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from batpal.reproduce.layout import KT, Table
from batpal.reproduce.plan import kt_step
from batpal.reproduce.steps import Step


@dataclass(frozen=True)
class Figure:
    """One cell of one seed."""

    value: float
    se: float
    episodes: int


def read_evaluation(step: Step, root: Path) -> dict[str, Figure]:
    """Row label -> the defender's figure, from a finished evaluation step (its attacks matched by spec)."""
    run_dir = step.run_dir(root)
    entry = json.loads((run_dir / "summary.json").read_text()).get("evaluate", {})
    if not entry.get("complete"):
        raise RuntimeError(f"evaluation {step.key} ({run_dir}) is incomplete; rerun the reproduction to finish it.")
    label_of_spec = {spec: label for label, spec in entry["attacks"].items()}
    with open(run_dir / "cross_table.csv", newline="") as f:
        cells = {row["attack"]: row for row in csv.DictReader(f)}
    out = {}
    for row_label, spec in step.rows:
        cell = cells[label_of_spec[spec]]
        key = "return_normalized" if cell["return_normalized"] != "" else "win_rate"
        se_key = f"{key}_se" if key == "return_normalized" else "win_rate_se"
        out[row_label] = Figure(float(cell[key]), _float(cell.get(se_key)), int(cell["episodes"]))
    return out


def seed_cells(table: Table, seed: int, evaluations: dict[str, dict[str, Figure]]) -> dict[tuple[str, str], Figure]:
    """(row, column) -> this seed's figure; ``evaluations`` maps ``eval_<defender>`` to its rows."""
    out = {}
    for column in table.columns:
        for row in table.rows:
            if column.step != KT:
                out[row.label, column.label] = evaluations[f"seed{seed}/eval_{column.step}"][row.label]
            elif row.source != "none":
                out[row.label, column.label] = evaluations[f"seed{seed}/eval_{kt_step(row)}"][row.label]
        if column.step == KT:
            kt_runs = [f"seed{seed}/eval_{kt_step(r)}" for r in table.rows if r.source != "none"]
            benign = [evaluations[key]["No attack"] for key in kt_runs]
            if benign and any(r.source == "none" for r in table.rows):
                out["No attack", column.label] = pooled(benign)
    return out


def pooled(figures: list[Figure]) -> Figure:
    """The episode-weighted mean of several evaluations of one cell, with its standard error."""
    n = sum(f.episodes for f in figures)
    value = sum(f.value * f.episodes for f in figures) / n
    se = math.sqrt(sum((f.se * f.episodes / n) ** 2 for f in figures))
    return Figure(value, se, n)


def _float(text: str | None) -> float:
    return float(text) if text not in (None, "") else math.nan
