"""The attack budget's evidence: every RL attack's training curve, normalised, summarised by quarter and by its late
change (attack_curves.csv), and drawn per attack kind with one line per defender (attack_curves.png)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from batpal.reproduce.attack_curves import summarise_curve, write_attack_curves
from batpal.reproduce.steps import Step

LO, HI = -189.0, -47.0  # MPE-Spread's paper bounds (batpal.envs.registry)


def _metrics(run_dir: Path, returns: list[float], frames_per_row: int = 1000) -> None:
    path = run_dir / "metrics" / "attack" / "metrics.csv"
    path.parent.mkdir(parents=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "frames", "step", "train/return", "train/approx_kl"])
        for i, value in enumerate(returns):
            writer.writerow([0, (i + 1) * frames_per_row, i, value, 0.01])
            writer.writerow([0, (i + 1) * frames_per_row, i, "", 0.02])  # a row of other metrics only


def _step(seed: int, name: str, kind: str = "attack") -> Step:
    return Step(seed=seed, name=name, kind=kind)


def test_quarters_and_late_change_of_a_known_curve():
    values = [*[0.0] * 60, *[1.0] * 20, *[3.0] * 20]  # at frames 1..100
    points = [(float(x), y) for x, y in zip(range(1, 101), values, strict=True)]
    out = summarise_curve(points)
    assert out["frames"] == 100
    assert out["q1"] == out["q2"] == 0.0 and out["q3"] == pytest.approx(0.6) and out["q4"] == pytest.approx(2.6)
    assert out["late_change"] == pytest.approx(3.0 - 1.0)  # frames 81-100 minus frames 61-80


def test_a_flat_curve_has_no_late_change():
    assert summarise_curve([(float(x), 0.5) for x in range(1, 41)])["late_change"] == pytest.approx(0.0)


def test_csv_and_figure_per_attack_and_defender_normalised(tmp_path):
    steps = [_step(0, "pi0", "fit"), _step(0, "eval_pi0", "evaluate")]
    for seed in (0, 1):
        for defender in ("batpal", "pi0"):
            step = _step(seed, f"attack_act_vs_{defender}")
            _metrics(step.run_dir(tmp_path), [HI] * 10 + [LO] * 10)
            steps.append(step)
    dyn = _step(0, "attack_dyn1_vs_batpal")
    _metrics(dyn.run_dir(tmp_path), [(LO + HI) / 2] * 20)
    steps.append(dyn)
    paths = write_attack_curves(steps, tmp_path, "mpe_spread")
    assert [p.name for p in paths] == ["attack_curves.csv", "attack_curves.png"]
    assert paths[1].stat().st_size > 10_000
    with open(paths[0], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["attack"], r["defender"], r["seed"]) for r in rows] == [
        ("act", "batpal", "0"), ("act", "pi0", "0"), ("act", "batpal", "1"), ("act", "pi0", "1"),
        ("dyn1", "batpal", "0"),
    ]
    act = rows[0]  # normalised: HI is 1.0, LO is 0.0; the first half at 1, the second at 0
    assert float(act["q1"]) == 1.0 and float(act["q4"]) == 0.0 and act["frames"] == "20000"
    assert float(act["late_change"]) == 0.0  # frames 12k-16k and 16k-20k both sit at 0
    assert float(rows[4]["q2"]) == pytest.approx(0.5) and float(rows[4]["late_change"]) == 0.0


def test_an_attack_without_a_finished_episode_is_a_nan_row_and_no_figure(tmp_path):
    step = _step(0, "attack_act_vs_batpal")
    (step.run_dir(tmp_path) / "metrics" / "attack").mkdir(parents=True)
    (step.run_dir(tmp_path) / "metrics" / "attack" / "metrics.csv").write_text("epoch,frames,step,train/approx_kl\n"
                                                                               "0,400,0,0.01\n")
    paths = write_attack_curves([step], tmp_path, "mpe_spread")
    assert [p.name for p in paths] == ["attack_curves.csv"]
    with open(paths[0], newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert math.isnan(float(row["q4"])) and row["frames"] == "0"


def test_no_attack_steps_write_nothing(tmp_path):
    assert write_attack_curves([_step(0, "pi0", "fit")], tmp_path, "mpe_spread") == []
    assert not (tmp_path / "attack_curves.csv").exists()


def test_a_resumed_attack_is_one_curve_the_resumed_log_superseding_from_its_first_frame(tmp_path):
    step = _step(0, "attack_act_vs_batpal")
    _metrics(step.run_dir(tmp_path), [HI] * 10)  # frames 1k..10k; killed after 6k, its last rows rewritten below
    resumed = step.run_dir(tmp_path) / "metrics" / "attack-resumed1" / "metrics.csv"
    resumed.parent.mkdir(parents=True)
    resumed.write_text("epoch,frames,step,train/return\n" + "".join(f"0,{f * 1000},{f},{LO}\n" for f in range(7, 21)))
    (table, _) = write_attack_curves([step], tmp_path, "mpe_spread")
    with open(table, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["frames"] == "20000"  # 6 points of the first log (1k-6k), then 14 of the resumed one
    assert float(row["q1"]) == 1.0 and float(row["q2"]) == pytest.approx(1 / 5)  # 5k-10k: 5k and 6k at 1, 7k-10k at 0
    assert float(row["q4"]) == 0.0 and float(row["late_change"]) == 0.0
