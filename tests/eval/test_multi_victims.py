"""``batpal.evaluate`` with two victims: a tiny game.victims = 2 BATPAL run (4-agent MPE-Spread) and a MAPPO team
against none / random / severity_1, every one of the 6 victim sets played; mismatched victim counts fail clearly."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from batpal.attacks import make_attack
from batpal.eval.attacked import evaluate_attack
from batpal.eval.defenders import GameDefender, load_defender
from batpal.eval.run import evaluate
from batpal.modules.attack import single_victim
from tests.eval.conftest import compose_evaluate, copy_run
from tests.tiny_run import tiny_multi_run

EPISODES = 2


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished m = 2 BATPAL run, a MAPPO run with its config (m = 2) and one whose config says m = 1."""
    root = tmp_path_factory.mktemp("multi_eval")
    game = tiny_multi_run(tmp_path_factory)[0]  # the session's m = 2 run (tests/tiny_run.py), only read here
    out = {"batpal": game}
    for name, victims in (("mappo", 2), ("mappo_m1", 1)):
        out[name] = copy_run(
            game, root / name, stages=["pretrain"], method="mappo", drop=["defender.pt"], game__victims=victims
        )
    return out


def test_cross_table_averages_over_every_victim_set(runs, tmp_path):
    out = tmp_path / "eval"
    cfg = compose_evaluate(
        "experiment=mpe_spread",
        f"defenders=[{runs['batpal']},{runs['mappo']}]",
        "attacks=[none,random,severity_1]",
        f"episodes={EPISODES}",
        "env.eval_envs=5",  # 12 episodes per attacked cell: chunks of 5, 5, 5 (the last keeps 2)
        f"run_dir={out}",
    )
    figures = evaluate(cfg)
    rows = list(csv.DictReader(open(out / "cross_table.csv")))
    assert [(r["attack"], r["defender"]) for r in rows] == [
        (a, d) for a in ("No attack", "Random", "Severity 1") for d in ("BATPAL", "MAPPO")
    ]
    assert [int(r["episodes"]) for r in rows] == [EPISODES] * 2 + [6 * EPISODES] * 4  # C(4, 2) = 6 sets
    for r in rows:
        assert -1.0 < float(r["return_normalized"]) < 2.0
    summary = json.loads((out / "summary.json").read_text())["evaluate"]
    assert summary["victims"] == figures["victims"] == 2
    assert summary["table"]["Severity 1"]["MAPPO"] == pytest.approx(float(rows[5]["return_normalized"]))


def test_mappo_takes_any_victim_count(runs):
    mappo = load_defender(runs["mappo_m1"])
    assert mappo.victims == 1
    mappo.set_victims(3)  # C(4, 3) = 4 sets of 3 victims
    result = evaluate_attack(mappo, make_attack("noop", [mappo]), 2, seed=0, num_envs=8)
    assert result.returns.numel() == 4 * 2


def _fails(tmp_path, match, *overrides):
    out = tmp_path / "never"
    with pytest.raises(ValueError, match=match):
        evaluate(compose_evaluate("experiment=mpe_spread", "episodes=1", f"run_dir={out}", *overrides))
    assert not out.exists()  # nothing computed, nothing written


def test_mismatched_victims_fail_clearly(runs, tmp_path):
    both = f"defenders=[{runs['batpal']},{runs['mappo_m1']}]"
    _fails(tmp_path, r"different game.victims: \{'BATPAL': 2, 'MAPPO': 1\}", both, "attacks=[random]")
    _fails(tmp_path, r"trained with game.victims=2; it cannot be evaluated with victims=1", both, "victims=1")
    _fails(tmp_path, r"victims must satisfy 1 <= victims < n_agents = 4", f"defenders=[{runs['mappo']}]", "victims=4")


def test_victims_override_lets_mappo_join(runs, tmp_path):
    out = tmp_path / "eval"
    cfg = compose_evaluate(
        "experiment=mpe_spread",
        f"defenders=[{runs['batpal']},{runs['mappo_m1']}]",
        "attacks=[random]",
        "episodes=1",
        "victims=2",
        f"run_dir={out}",
    )
    assert evaluate(cfg)["victims"] == 2
    assert [int(r["episodes"]) for r in csv.DictReader(open(out / "cross_table.csv"))] == [6, 6]


def test_rl_attack_training_is_single_victim_only(runs):
    game = load_defender(runs["batpal"])
    assert isinstance(game, GameDefender) and game.victims == 2 and game.space.n_sets == 6
    with pytest.raises(ValueError, match="batpal.attack is single-victim only.*game.victims=2"):
        single_victim(game)
    assert single_victim(load_defender(runs["mappo"])).victims == 1  # pi0 alone is attacked one victim at a time
