"""Typed configs (``schema``), registered with Hydra's ConfigStore on import, and their one validator."""

from batpal.config.schema import (
    AttackConfig,
    EnvConfig,
    EvaluateConfig,
    FitConfig,
    GameConfig,
    ModelConfig,
    PPOConfig,
    StageConfig,
    StagePPO,
    register_configs,
)
from batpal.config.settings import stage_ppo, to_object
from batpal.config.validate import validate, validate_run

__all__ = [
    "AttackConfig",
    "EnvConfig",
    "EvaluateConfig",
    "FitConfig",
    "GameConfig",
    "ModelConfig",
    "PPOConfig",
    "StageConfig",
    "StagePPO",
    "stage_ppo",
    "to_object",
    "validate",
    "register_configs",
    "validate_run",
]
