"""From a composed config to the typed objects the modules take: one typed path from the yaml to the use."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from batpal.config.schema import EnvConfig, GameConfig, ModelConfig, PPOConfig

T = TypeVar("T")


def to_object(node: Any, schema: type[T]) -> T:
    """``node`` (a DictConfig, possibly untyped, e.g. an older run's ``config.yaml``) as a ``schema`` instance.

    Interpolations are resolved against the node's root; keys the schema lacks are refused, keys a node lacks
    take the schema's default.
    """
    if isinstance(node, schema):
        return node
    merged = OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.to_container(node, resolve=True))
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


def stage_ppo(cfg: DictConfig, stage: str) -> PPOConfig:
    """The PPO settings ``stage`` (pretrain, calibrate, adversarial, attack) runs with: ``ppo`` with the stage's
    own ``ppo`` node on top (which follows ``ppo`` wherever it sets nothing)."""
    shared = to_object(cfg.ppo, PPOConfig)
    own = OmegaConf.to_container(cfg[stage].ppo, resolve=True)
    return dataclasses.replace(shared, **own)


def env_config(cfg: DictConfig) -> EnvConfig:
    return to_object(cfg.env, EnvConfig)


def eval_envs(cfg: DictConfig) -> int:
    """The batch of every evaluation (its envs; SC2 processes on SMAC): ``env.eval_envs``, else ``env.num_envs``."""
    env = env_config(cfg)
    return int(env.num_envs if env.eval_envs is None else env.eval_envs)


def model_config(cfg: DictConfig) -> ModelConfig:
    return to_object(cfg.model, ModelConfig)


def game_config(cfg: DictConfig) -> GameConfig:
    game = to_object(cfg.game, GameConfig)
    # ``game.belief_source=true`` on the command line arrives as a boolean, which the str field spells "True"
    return dataclasses.replace(game, belief_source=str(game.belief_source).lower())
