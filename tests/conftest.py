"""Shared fixtures: configs composed with Hydra as a user would, shrunk for CPU speed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import batpal  # noqa: F401  (registers the typed config schemas before any compose)

# One intra-op thread: the tests' tensors are tiny, and 2 threads on 2 shared cores (DDP ranks, a background
# job) oversubscribe the CPU and slow everything down by 10x or more.
torch.set_num_threads(1)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

TINY = [
    "env.num_envs=16",
    "ppo.rollout_steps=25",
    "ppo.ppo_epochs=2",
    "pretrain.frames=1600",  # 4 iterations of 16 x 25
    "pretrain.iters_per_epoch=2",
    "pretrain.eval_episodes=8",
    "model.hidden=[32,32]",
    "trainer.enable_progress_bar=false",
    "stages=[pretrain]",
]

# the game stages, shrunk: calibrate and adversarial on top of TINY's pretrain
GAME = [
    "stages=[pretrain,calibrate,adversarial]",
    "calibrate.frames=800",
    "calibrate.iters_per_epoch=1",
    "calibrate.eval_episodes=6",
    "adversarial.frames=1600",
    "adversarial.iters_per_epoch=2",
    "adversarial.eval_episodes=4",
    "calibrate.ppo.ppo_epochs=2",
    "adversarial.ppo.ppo_epochs=2",
    "game.vmin=-400",  # a tiny pi0 cannot be hurt reliably; Vmax stays calibrated
]


def compose_config(overrides: list[str], run_dir: Path | None = None) -> DictConfig:
    """``fit.yaml`` composed with ``overrides`` (and ``run_dir``), exactly as ``python -m batpal.fit`` would."""
    extra = [f"run_dir={run_dir}"] if run_dir is not None else []
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("fit", overrides=[*overrides, *extra])


@pytest.fixture
def tiny_cfg(tmp_path: Path):
    """Factory: a tiny MPE-Spread run config in ``tmp_path / name``."""

    def make(*overrides: str, name: str = "run") -> DictConfig:
        return compose_config(["experiment=mpe_spread", *TINY, *overrides], tmp_path / name)

    return make
