"""Tiny reproductions: ``reproduce.yaml`` composed as ``python -m batpal.reproduce`` would, with every budget of the
tiny fit / attack tests, and an in-process runner (Hydra initialised, the basic launcher)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from tests.conftest import CONFIGS

# 16 envs x 25 steps = 400 frames per iteration; every stage 1-2 iterations, evaluations of a few episodes.
TINY_REPRODUCE = [
    "experiment=mpe_spread",
    "env.num_envs=16",
    "ppo.rollout_steps=25",
    "ppo.ppo_epochs=1",
    "model.hidden=[32,32]",
    "trainer.enable_progress_bar=false",
    "pretrain.frames=800",
    "pretrain.iters_per_epoch=2",
    "pretrain.eval_episodes=4",
    "calibrate.frames=400",
    "calibrate.iters_per_epoch=1",
    "calibrate.eval_episodes=4",
    "calibrate.ppo.ppo_epochs=1",
    "adversarial.frames=800",
    "adversarial.iters_per_epoch=1",
    "adversarial.eval_episodes=2",
    "adversarial.ppo.ppo_epochs=1",
    "attack.frames=400",
    "attack.iters_per_epoch=1",
    "attack.eval_episodes=2",
    "game.vmin=-400",  # a tiny pi0 cannot be hurt reliably; Vmax stays calibrated
    "reproduce.episodes=2",
    "reproduce.bootstrap_reps=20",
]
# Figure 2 with BATPAL (K = 1), MAPPO and KT against ACT: every kind of step, 12 of them.
SMALL_FIGURE2 = ["seeds=[0]", "game.K=1", "reproduce.methods=[batpal,mappo,kt]", "reproduce.attacks=[act]"]


@contextmanager
def hydra_reproduce(*overrides: str, run_dir: Path) -> Iterator[tuple[DictConfig, list[str]]]:
    """Inside an initialised Hydra: the composed config and the command's overrides (``run_dir`` included)."""
    command = [*overrides, f"run_dir={run_dir}"]
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3", job_name="reproduce"):
        yield compose("reproduce", overrides=command), command
