"""Table 1 (BATPAL's ablations) and Table 3 (K) reproduced at tiny scale, in-process (Hydra's basic launcher)."""

from __future__ import annotations

import csv

import pytest

from batpal.reproduce.run import reproduce
from batpal.reproduce.tables import COLUMNS
from tests.reproduce.conftest import TINY_REPRODUCE, hydra_reproduce


@pytest.mark.slow  # 24 tiny steps, about 1.5 minutes on 2 cores
def test_table1_and_table3_at_tiny_scale(tmp_path):
    overrides = [*TINY_REPRODUCE, "seeds=[1]", "game.K=1", "reproduce.tables=[table1,table3]",
                 "reproduce.attacks=[act]", "reproduce.table3_K=[1,2]", "reproduce.fixed_types_c=[0.0,0.05]",
                 "reproduce.scale=0.5"]
    with hydra_reproduce(*overrides, run_dir=tmp_path) as (cfg, command):
        entry = reproduce(cfg, command, ["hydra/launcher=basic"])
    assert set(entry["tables"]) == {"table1", "table3"} and entry["steps_run"] == entry["steps"] == 24
    table1 = list(csv.DictReader(open(tmp_path / "table1.csv")))
    assert tuple(table1[0]) == COLUMNS
    variants = ("BATPAL", "No Belief", "Perfect Belief", "EC PG", "Fixed Types")
    assert [(r["attack"], r["defender"]) for r in table1] == [
        (a, v) for a in ("No attack", "ACT", "A-Gen-Maxmin") for v in variants
    ]
    assert {r["paper"] for r in table1 if r["defender"] == "No Belief"} == {"0.81", "0.7", "0.61"}
    table3 = list(csv.DictReader(open(tmp_path / "table3.csv")))
    assert [(r["attack"], r["defender"]) for r in table3] == [
        (a, k) for a in ("No attack", "A-EIR-MAPPO", "ACT") for k in ("K=1", "K=2")
    ]
    assert all(r["paper"] == "" for r in table3)  # the paper has K = 3, 4, 5 only
    assert (tmp_path / "table1_stats.csv").is_file() and (tmp_path / "table3.png").is_file()
