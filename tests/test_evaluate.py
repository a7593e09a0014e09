"""``python -m batpal.evaluate``: the command line on a tiny BATPAL run (in a child of the session's zygote,
``tests/zygote.py``), and its config with every experiment."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.eval.conftest import compose_evaluate
from tests.tiny_run import tiny_game_run
from tests.zygote import zygote

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def game_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_game_run(tmp_path_factory)


@pytest.mark.slow  # end to end
def test_command_line(game_run, tmp_path):
    out = tmp_path / "cli"
    args = [
        "experiment=mpe_spread",
        f"defenders={{BATPAL:{game_run}}}",
        "attacks=[none,severity_2]",
        "episodes=2",
        f"hydra.run.dir={out}",
    ]
    done = zygote().run("batpal.evaluate", args, tmp_path / "evaluate.log", timeout=120)  # tests/zygote.py
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(open(out / "cross_table.csv")))
    assert [(r["attack"], r["defender"], r["episodes"]) for r in rows] == [
        ("No attack", "BATPAL", "2"),
        ("Severity 2", "BATPAL", "6"),
    ]
    log = (out / "evaluate.log").read_text()  # the command's own log: its end table, without colour codes
    assert "== batpal.evaluate: normalised return, mpe_spread" in log and "Severity 2" in log
    assert "\x1b[" not in log
    assert log.count("== batpal.evaluate:") == 1 and "cross table (" not in log  # the table once, not also logged


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (REPO / "configs" / "experiment").glob("*.yaml")))
def test_evaluate_config_composes_with_every_experiment(experiment):
    cfg = compose_evaluate(f"experiment={experiment}")
    assert cfg.env.name == OmegaConf.load(REPO / "configs" / "experiment" / f"{experiment}.yaml").experiment_name
    assert cfg.episodes == 50 and cfg.defenders is None and list(cfg.attacks) == ["none", "random", "noop"]
