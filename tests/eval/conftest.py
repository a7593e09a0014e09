"""One tiny finished BATPAL run (pretrain -> calibrate -> adversarial) for every evaluation test, and a MAPPO
run made from its pretrain stage (pi0 alone)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from batpal.fit import fit
from tests.conftest import CONFIGS, TINY, compose_config

GAME = [
    "stages=[pretrain,calibrate,adversarial]",
    "pretrain.eval_episodes=4",
    "calibrate.frames=800",
    "calibrate.iters_per_epoch=1",
    "calibrate.eval_episodes=4",
    "adversarial.frames=800",
    "adversarial.iters_per_epoch=1",
    "adversarial.eval_episodes=2",
    "calibrate.ppo.ppo_epochs=1",
    "adversarial.ppo.ppo_epochs=1",
    "game.vmin=-400",
]


@pytest.fixture(scope="session")
def game_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny BATPAL run directory (K = 4, MPE-Spread)."""
    run_dir = tmp_path_factory.mktemp("runs") / "batpal"
    fit(compose_config(["experiment=mpe_spread", *TINY, *GAME], run_dir))
    return run_dir


@pytest.fixture(scope="session")
def mappo_run(game_run: Path) -> Path:
    """A MAPPO run: the BATPAL run's config, pi0 and pretrain metrics, no defender.pt."""
    run_dir = game_run.parent / "mappo"
    run_dir.mkdir()
    for name in ("config.yaml", "pi0.pt", "summary.json"):
        shutil.copy(game_run / name, run_dir / name)
    shutil.copytree(game_run / "metrics" / "pretrain", run_dir / "metrics" / "pretrain")
    return run_dir


def compose_evaluate(*overrides: str) -> DictConfig:
    """``evaluate.yaml`` composed with ``overrides``, as ``python -m batpal.evaluate`` would."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("evaluate", overrides=list(overrides))
