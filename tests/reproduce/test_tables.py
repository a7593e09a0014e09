"""Tables over seeds: the CSV's columns, t intervals, the paper's value beside ours, KT's pooled No attack cell and
the rliable statistics."""

from __future__ import annotations

import csv
import math

import pytest

from batpal.config.schema import ReproduceSettings
from batpal.reproduce.layout import figure2
from batpal.reproduce.paper import paper_values
from batpal.reproduce.results import Figure, seed_cells
from batpal.reproduce.stats import aggregate, write_stats
from batpal.reproduce.tables import COLUMNS, interval, summarise, write_table

TABLE = figure2(ReproduceSettings(methods=["batpal", "mappo", "kt"], attacks=["act"]), K=1)
ROWS = ("No attack", "Severity 1", "ACT")


def evaluations(seed: int, shift: float) -> dict:
    """What the evaluation steps of one seed read back: per defender step, row -> figure."""
    own = {row: Figure(0.5 + shift + 0.1 * i, 0.02, 150) for i, row in enumerate(ROWS)}
    return {
        f"seed{seed}/eval_batpal": own,
        f"seed{seed}/eval_pi0": {row: Figure(0.4 + shift, 0.02, 150) for row in ROWS},
        f"seed{seed}/eval_kt_severity_1": {"No attack": Figure(0.9, 0.01, 150), "Severity 1": Figure(0.8, 0.01, 150)},
        f"seed{seed}/eval_kt_act": {"No attack": Figure(1.0, 0.01, 50), "ACT": Figure(0.7, 0.01, 150)},
    }


def test_cells_over_seeds_with_intervals_and_paper_values(tmp_path):
    per_seed = [
        seed_cells(TABLE, s, {**evaluations(0, 0.0), **evaluations(1, 0.1), **evaluations(2, 0.2)}) for s in (0, 1, 2)
    ]
    assert per_seed[0]["No attack", "KT"] == Figure(0.925, pytest.approx(0.0079, abs=1e-4), 200)  # pooled KT runs
    lines = summarise(TABLE, per_seed, paper_values("figure2", "mpe_spread"))
    assert [(line.attack, line.defender) for line in lines] == [(r, c) for r in ROWS for c in ("BATPAL", "MAPPO", "KT")]
    batpal = lines[0]
    assert (batpal.mean, batpal.seeds, batpal.episodes, batpal.paper) == (pytest.approx(0.6), 3, 450, 1.0)
    half = 4.302653 * 0.1 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert (batpal.ci95_low, batpal.ci95_high) == (pytest.approx(0.6 - half), pytest.approx(0.6 + half))
    paths = write_table(lines, tmp_path, "figure2", "figure2: mpe_spread", "normalised return", "caption")
    rows = list(csv.DictReader(open(paths[0])))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 9 and rows[0]["paper"] == "1"
    assert all(p.is_file() for p in paths) and "0.60 (1.00)" in paths[1].read_text()

    stats = aggregate(TABLE, per_seed, reps=20)
    iqm = {s["defender"]: s for s in stats if s["statistic"] == "IQM"}
    assert set(iqm) == {"BATPAL", "MAPPO", "KT"} and iqm["BATPAL"]["ci95_low"] <= iqm["BATPAL"]["estimate"]
    improve = {s["defender"]: s["estimate"] for s in stats if s["statistic"] == "P(BATPAL > X)"}
    assert set(improve) == {"MAPPO", "KT"} and 0.5 < improve["MAPPO"] <= 1.0
    assert len(list(csv.DictReader(open(write_stats(stats, tmp_path / "s.csv"))))) == 5


def test_one_seed_interval_comes_from_its_episodes():
    assert interval([Figure(0.5, 0.1, 150)]) == (0.5, pytest.approx(0.304), pytest.approx(0.696))
