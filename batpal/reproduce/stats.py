"""Aggregate statistics of a table with ``rliable`` (Agarwal et al., 2021): per defender the interquartile mean
over (seeds x attack rows) with stratified-bootstrap 95% intervals, and the probability that BATPAL improves on
each other defender (``P(BATPAL > X)``), also with its interval. Written as ``<table>_stats.csv``.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from batpal.atomic import atomic_write
from batpal.reproduce.layout import Table
from batpal.reproduce.results import Figure

REFERENCE = "BATPAL"
STAT_COLUMNS = ("statistic", "defender", "estimate", "ci95_low", "ci95_high", "seeds", "attacks")


def score_matrices(table: Table, per_seed: Sequence[dict[tuple[str, str], Figure]]) -> tuple[dict, list[str]]:
    """{defender: scores [seeds, rows]} over the rows every defender has in every seed, and those rows."""
    rows = [r.label for r in table.rows
            if all((r.label, c.label) in cells for cells in per_seed for c in table.columns)]
    scores = {c.label: np.array([[cells[r, c.label].value for r in rows] for cells in per_seed], dtype=float)
              for c in table.columns}
    return scores, rows


def aggregate(table: Table, per_seed: Sequence[dict[tuple[str, str], Figure]], reps: int, seed: int = 0) -> list[dict]:
    """IQM per defender and P(BATPAL > X) per other defender, each with its 95% stratified-bootstrap interval."""
    from rliable import library as rly
    from rliable import metrics

    scores, rows = score_matrices(table, per_seed)
    if not rows:
        return []
    n_seeds = len(per_seed)

    def iqm(matrix: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(matrix)])

    with warnings.catch_warnings():  # rliable 1.2 hands arch the deprecated random_state (a FutureWarning)
        warnings.simplefilter("ignore", FutureWarning)
        point, ci = rly.get_interval_estimates(scores, iqm, reps=reps, random_state=np.random.RandomState(seed))
    out = [_stat("IQM", name, point[name][0], ci[name][:, 0], n_seeds, len(rows)) for name in scores]
    if REFERENCE in scores:
        pairs = {f"{REFERENCE},{x}": (scores[REFERENCE], scores[x]) for x in scores if x != REFERENCE}
        if pairs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                point, ci = rly.get_interval_estimates(pairs, metrics.probability_of_improvement, reps=reps,
                                                       random_state=np.random.RandomState(seed))
            for pair in pairs:
                other = pair.split(",", 1)[1]
                out.append(_stat(f"P({REFERENCE} > X)", other, point[pair], np.ravel(ci[pair]), n_seeds, len(rows)))
    return out


def _stat(statistic: str, defender: str, estimate: float, ci: np.ndarray, seeds: int, attacks: int) -> dict:
    return {"statistic": statistic, "defender": defender, "estimate": float(estimate), "ci95_low": float(ci[0]),
            "ci95_high": float(ci[1]), "seeds": seeds, "attacks": attacks}


def write_stats(lines: Sequence[dict], path: Path) -> Path:
    with atomic_write(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=STAT_COLUMNS)
        writer.writeheader()
        for line in lines:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in line.items()})
    return path
