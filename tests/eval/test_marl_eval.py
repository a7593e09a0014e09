"""marl-eval's JSON layout: env -> task -> algorithm -> run -> step, one-element metric lists, equal to the CSV's
figures; from ``batpal.evaluate`` (seeds given one label are runs of one algorithm) and from a reproduced table."""

from __future__ import annotations

import csv
import json

import pytest

from batpal.config.schema import ReproduceSettings
from batpal.eval.marl_eval import Record, layout
from batpal.eval.run import evaluate
from batpal.reproduce.layout import figure2
from batpal.reproduce.marl_eval_export import export_table
from batpal.reproduce.results import Figure
from batpal.reproduce.tables import summarise
from tests.eval.conftest import compose_evaluate, copy_run


def test_layout_nests_orders_steps_and_ends_with_the_absolute_metrics():
    records = [
        Record("No Attack", "BATPAL", "seed_0", 200, {"return": -80.0}),
        Record("No Attack", "BATPAL", "seed_0", 100, {"return": -90.0}),
        Record("ACT", "BATPAL", "seed_0", 200, {"return": -95.0}),
        Record("ACT", "MAPPO", "seed_1", 50, {"return": -99.0}),
    ]
    data = layout("MPE_Spread", records)
    assert list(data) == ["mpe_spread"] and list(data["mpe_spread"]) == ["no attack", "act"]  # lower-case names
    run = data["mpe_spread"]["no attack"]["BATPAL"]["seed_0"]
    assert list(run) == ["step_0", "step_1", "absolute_metrics"]  # marl-eval reads the last key as absolute
    assert run["step_0"] == {"step_count": 100, "return": [-90.0]}
    assert run["step_1"] == {"step_count": 200, "return": [-80.0]}
    assert run["absolute_metrics"] == {"return": [-80.0]}
    assert set(data["mpe_spread"]["act"]) == {"BATPAL", "MAPPO"}


def test_evaluate_writes_the_csvs_cells_with_seeds_as_runs(game_run, tmp_path):
    seed1 = copy_run(game_run, tmp_path / "seed1", seed=1)
    out = tmp_path / "eval"
    evaluate(compose_evaluate("experiment=mpe_spread", f"defenders=['A={game_run}','A={seed1}']",
                              "attacks=[none,random]", "episodes=2", "env.eval_envs=8", f"run_dir={out}"))
    rows = list(csv.DictReader(open(out / "cross_table.csv")))
    data = json.loads((out / "marl_eval.json").read_text())
    assert list(data) == ["mpe_spread"] and list(data["mpe_spread"]) == ["no attack", "random"]
    summary = json.loads((game_run / "summary.json").read_text())
    frames = sum(summary[s]["frames"] for s in ("pretrain", "calibrate", "adversarial"))
    column = {"A": "seed_0", "A (seed1)": "seed_1"}  # the cross table's column -> the run of algorithm A
    for row in rows:
        runs = data["mpe_spread"][row["attack"].lower()]["A"]
        assert set(runs) == {"seed_0", "seed_1"}
        run = runs[column[row["defender"]]]
        assert list(run) == ["step_0", "absolute_metrics"] and run["step_0"]["step_count"] == frames
        for key in ("return", "return_normalized"):
            csv_key = "return_mean" if key == "return" else key
            assert run["step_0"][key] == run["absolute_metrics"][key] == [pytest.approx(float(row[csv_key]))]
        assert "win_rate" not in run["step_0"]  # MPE reports returns


def test_a_reproduced_table_exports_each_seeds_cells(tmp_path):
    table = figure2(ReproduceSettings(methods=["batpal", "mappo"], attacks=[]), K=1)
    per_seed = [{(r.label, c.label): Figure(0.1 * s + 0.01 * i, 0.01, 10) for i, r in enumerate(table.rows)
                 for c in table.columns} for s in (0, 1)]
    (tmp_path / "seed0" / "batpal").mkdir(parents=True)
    (tmp_path / "seed0" / "batpal" / "config.yaml").write_text("seed: 0\n")
    (tmp_path / "seed0" / "batpal" / "summary.json").write_text(json.dumps({"pretrain": {"frames": 30},
                                                                             "adversarial": {"frames": 12}}))
    path = export_table(table, [0, 1], per_seed, tmp_path, "mpe_spread", "return_normalized")
    assert path == tmp_path / "figure2_marl_eval.json"
    data = json.loads(path.read_text())["mpe_spread"]
    assert list(data) == ["no attack", "severity 1"] and set(data["severity 1"]) == {"BATPAL", "MAPPO"}
    assert data["severity 1"]["BATPAL"]["seed_0"]["step_0"] == {"step_count": 42, "return_normalized": [0.01]}
    assert data["severity 1"]["MAPPO"]["seed_1"]["step_0"]["step_count"] == 0  # no training run found: 0 frames
    for line in summarise(table, per_seed, {}):  # the table CSV's mean is the mean of the exported runs
        runs = data[line.attack.lower()][line.defender]
        values = [run["absolute_metrics"]["return_normalized"][0] for run in runs.values()]
        assert sum(values) / len(values) == pytest.approx(line.mean)
