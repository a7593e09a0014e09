"""Build the BATPAL module of the calibrate and adversarial stages from the config and earlier stages."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from batpal.artifacts import REFERENCE_POLICY
from batpal.modules.batpal import BATPALModule

GAME_HPARAMS = (
    "prior",
    "benign_prob",
    "world1_fraction",
    "barrier_lambda",
    "zeta",
    "clip_epsilon",
    "entropy_coeff",
    "adversary_entropy_coeff",
    "policy_lr",
    "adversary_lr",
    "critic_lr",
    "belief_lr",
    "ppo_epochs",
    "minibatches",
    "belief_mode",
    "belief_source",
    "teacher_forcing_until",
)


def build_game_module(
    cfg: DictConfig, run_dir: Path, *, calibrate: bool, vmax: float, vmin: float | list[float]
) -> BATPALModule:
    """The same module for both stages: ``calibrate`` = world 0 only, K = 1, no barrier, no defender update."""
    stage = cfg.calibrate if calibrate else cfg.adversarial
    game = cfg.game
    return BATPALModule(
        env_name=cfg.env.name,
        num_envs=cfg.env.num_envs,
        rollout_steps=cfg.algo.rollout_steps,
        total_frames=stage.frames,
        seed=cfg.seed,
        reference_policy=str(run_dir / REFERENCE_POLICY),
        vmax=vmax,
        vmin=vmin,
        K=1 if calibrate else game.K,
        iters_per_epoch=stage.iters_per_epoch,
        calibrate=calibrate,
        max_episode_steps=cfg.env.max_episode_steps,
        gamma=cfg.algo.gamma,
        gae_lambda=cfg.algo.gae_lambda,
        max_grad_norm=cfg.algo.max_grad_norm,
        hidden=list(cfg.model.hidden),
        activation=cfg.model.activation,
        env_kwargs=OmegaConf.to_container(cfg.env.kwargs),
        **{key: game[key] for key in GAME_HPARAMS},
    )
