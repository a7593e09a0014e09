"""Tiny finished defender runs (BATPAL pipeline and MAPPO alone) and tiny attack configs for the attack tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from batpal.fit import fit
from tests.conftest import CONFIGS, TINY, compose_config
from tests.tiny_run import tiny_game_run

# 16 envs x 25 steps = 400 frames per iteration; 4 iterations in 2 epochs (a checkpoint after each).
TINY_ATTACK = [
    "experiment=mpe_spread",
    "env.num_envs=16",
    "ppo.rollout_steps=25",
    "ppo.ppo_epochs=2",
    "model.hidden=[32,32]",
    "trainer.enable_progress_bar=false",
    "attack.frames=1600",
    "attack.iters_per_epoch=2",
    "attack.eval_episodes=8",
]


@pytest.fixture(scope="session")
def defender_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``game``: a finished tiny pretrain -> calibrate -> adversarial run (the session's ``tests/tiny_run.py``);
    ``mappo``: a run with stages=[pretrain]. Trained once per session; the tests only read them."""
    mappo = tmp_path_factory.mktemp("defenders") / "mappo"
    fit(compose_config(["experiment=mpe_spread", *TINY], mappo))
    return {"game": tiny_game_run(tmp_path_factory), "mappo": mappo}


def attack_config(kind: str, defender: Path | str, run_dir: Path, *overrides: str) -> DictConfig:
    """``attack.yaml`` composed as ``python -m batpal.attack attack=<kind> defender=<dir>`` would, shrunk."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        chosen = [f"attack={kind}", f"defender={defender}", f"run_dir={run_dir}"]
        return compose("attack", overrides=[*TINY_ATTACK, *chosen, *overrides])
