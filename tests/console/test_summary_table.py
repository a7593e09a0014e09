"""The end-of-command tables from hand-made outputs: no training needed."""

from __future__ import annotations

import json

from batpal.console.summary_table import (
    attack_table,
    evaluate_table,
    fit_table,
    read_summary,
    reproduce_table,
)


def _figures(normalized: float, se: float = 0.01) -> dict:
    return {"return_mean": -150.0, "return_se": 3.0, "return_normalized": normalized, "return_normalized_se": se,
            "episodes": 8}


def _fit_summary() -> dict:
    bands = [[[-125.0, -100.0], [-150.0, -125.0]], [[-112.5, -100.0], [-125.0, -112.5]]]  # [victim][k][low, high]
    return {
        "pretrain": {"frames": 1600, "wall_s": 12.0, "return_mean": -120.0, "return_se": 2.0,
                     "return_normalized": 0.61, "vmax": -100.0, "vmax_ci95": [-101.0, -99.0], "eval_episodes": 8},
        "calibrate": {"frames": 800, "wall_s": 3.0, "vmax": -100.0, "vmin": [-150.0, -125.0], "source": "calibrated"},
        "adversarial": {
            "frames": 1600, "wall_s": 30.0, "K": 2, "bands": bands, "no_attack": _figures(0.58),
            "psi_1": {"defender": _figures(0.5), "pi0": _figures(0.4), "severity": 0.3,
                      "severity_per_victim": [0.2, 0.4], "band": [0.0, 0.5], "in_band": True},
            "psi_2": {"defender": _figures(0.45), "pi0": _figures(0.2), "severity": 0.42,
                      "severity_per_victim": [0.4, 0.44], "band": [0.5, 1.0], "in_band": False},
        },
    }


def _row(table: str, first: str) -> list[str]:
    return next(line.split() for line in table.splitlines() if line.split()[:1] == [first])


def test_fit_table_marks_each_severity_in_or_out_of_its_band():
    table = fit_table(_fit_summary(), "/runs/x", {"pretrain": 20.0, "adversarial": 45.0})
    psi_1, psi_2 = _row(table, "psi_1"), _row(table, "psi_2")
    assert psi_1[1:5] == ["0.300", "(0.00,", "0.50]", "yes"]
    assert psi_2[1:5] == ["0.420", "(0.50,", "1.00]", "NO"]
    assert "1 of 2 severities in band" in table
    assert psi_1[5:] == ["0.500", "+-", "0.010", "0.400", "+-", "0.010"]  # defender beside pi0 under psi_1
    assert _row(table, "none")[4:] == ["0.580", "+-", "0.010", "0.610"]  # the defender unattacked; pi0 alone


def test_fit_table_flattens_the_bands_per_victim():
    table = fit_table(_fit_summary(), "/runs/x")
    assert "[[" not in table and "[-" not in table
    assert _row(table, "0") == ["0", "-100.00", "-150.00", "-100.0", ">", "-125.0", ">", "-150.0"]
    assert _row(table, "1") == ["1", "-100.00", "-125.00", "-100.0", ">", "-112.5", ">", "-125.0"]
    assert "pi0 (pretrain): normalised return 0.610" in table
    assert table.splitlines()[-1] == "run dir: /runs/x"


def test_fit_table_wall_clock_per_stage():
    table = fit_table(_fit_summary(), "/runs/x", {"pretrain": 20.0, "calibrate": 4.0, "adversarial": 150.0})
    wall = next(line for line in table.splitlines() if line.startswith("wall-clock:"))
    assert wall == ("wall-clock: pretrain 20.0 s (training 12.0 s), calibrate 4.0 s (training 3.0 s), "
                    "adversarial 2.5 min (training 30.0 s)")


def test_fit_table_of_victim_sets_and_a_win_rate_env():
    summary = _fit_summary()
    summary["adversarial"]["victim_sets"] = [[0, 1], [0, 2]]
    for figures in (summary["adversarial"]["no_attack"], summary["pretrain"]):
        figures.update(return_normalized=None, win_rate=0.75)
    table = fit_table(summary, "/runs/x")
    assert _row(table, "{0,1}")[:3] == ["{0,1}", "-100.00", "-150.00"]
    assert _row(table, "none")[4:] == ["0.75", "win", "0.75", "win"]
    assert "defender (win rate)" in table


def test_fit_table_of_a_pretrain_only_run():
    summary = {"pretrain": _fit_summary()["pretrain"]}
    table = fit_table(summary, "/runs/m")
    assert "psi_" not in table and "bounds" not in table
    assert "wall-clock: pretrain training 12.0 s (earlier run)" in table


def test_attack_evaluate_and_reproduce_tables(tmp_path):
    attack = {"attack": {"kind": "act", "c": 0.5, "defender": "/runs/d", "defender_name": "BATPAL", "frames": 400,
                         "wall_s": 3.0, **_figures(0.2), "detectability_mean": 1.234, "deviation_rate": 0.5,
                         "no_attack": _figures(0.6)}}
    table = attack_table(attack, tmp_path)
    assert _row(table, "attack")[-5:] == ["0.200", "+-", "0.010", "1.234", "0.500"]
    assert _row(table, "no")[2:5] == ["0.600", "+-", "0.010"]

    evaluation = {"evaluate": {"wall_s": 9.0, "env": "mpe_spread", "metric": "normalised return", "complete": True,
                               "table": {"No attack": {"BATPAL": 0.61, "MAPPO": 0.6}, "ACT": {"BATPAL": 0.5}}}}
    table = evaluate_table(evaluation, tmp_path)
    assert _row(table, "attack") == ["attack", "BATPAL", "MAPPO"] and _row(table, "ACT") == ["ACT", "0.500", "-"]
    assert "complete" in table.splitlines()[0]

    (tmp_path / "figure2.md").write_text("## figure2\n\n| attack | BATPAL |\n|---|---|\n| ACT | 0.50 (0.48) |\n")
    (tmp_path / "summary.json").write_text(json.dumps({"reproduce": {
        "seeds": [0], "tables": {"figure2": [str(tmp_path / "figure2.csv"), str(tmp_path / "figure2.md")]},
        "steps": 12, "steps_run": 3, "wall_s": 60.0, "readme": str(tmp_path / "README.md")}}))
    table = reproduce_table(read_summary(tmp_path), tmp_path)
    assert "3 of 12 steps run here (9 cached)" in table and "| ACT | 0.50 (0.48) |" in table
