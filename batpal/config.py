"""Checks of a composed config that run before any compute: a bad value fails in milliseconds, clearly."""

from __future__ import annotations

from omegaconf import DictConfig

from batpal.envs.registry import check_env_available, check_env_name

STAGES = ("pretrain",)


def validate(cfg: DictConfig) -> None:
    """Raise naming the offending override (env, env.num_envs, pretrain.frames, stages) or the missing package."""
    check_env_name(cfg.env.name)
    if int(cfg.env.num_envs) < 1:
        raise ValueError(f"env.num_envs must be >= 1, got {cfg.env.num_envs}.")
    if int(cfg.pretrain.frames) < 1:
        raise ValueError(f"pretrain.frames must be >= 1, got {cfg.pretrain.frames}.")
    if int(cfg.algo.rollout_steps) < 1:
        raise ValueError(f"algo.rollout_steps must be >= 1, got {cfg.algo.rollout_steps}.")
    unknown = [s for s in cfg.stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stages {unknown}; known stages, in order: {', '.join(STAGES)}.")
    check_env_available(cfg.env.name)  # e.g. smacv2 / StarCraft II absent: install steps, before any compute
