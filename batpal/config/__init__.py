"""Typed configs (``schema``), registered with Hydra's ConfigStore on import, and their one validator."""

from batpal.config.schema import (
    AttackConfig,
    EnvConfig,
    EvaluateConfig,
    FitConfig,
    GameConfig,
    ModelConfig,
    PPOConfig,
    ReproduceConfig,
    ReproduceSettings,
    StageConfig,
    StagePPO,
    register_configs,
)
from batpal.config.settings import eval_envs, stage_ppo, to_object
from batpal.config.validate import validate, validate_env, validate_run

__all__ = [
    "AttackConfig",
    "EnvConfig",
    "EvaluateConfig",
    "FitConfig",
    "GameConfig",
    "ModelConfig",
    "PPOConfig",
    "ReproduceConfig",
    "ReproduceSettings",
    "StageConfig",
    "StagePPO",
    "eval_envs",
    "stage_ppo",
    "to_object",
    "validate",
    "register_configs",
    "validate_env",
    "validate_run",
]
