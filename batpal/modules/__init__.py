"""LightningModules, one per training stage; each owns its collector and its optimizers."""

from batpal.modules.mappo import MAPPOModule
from batpal.modules.rollout import RolloutModule

__all__ = ["MAPPOModule", "RolloutModule"]
