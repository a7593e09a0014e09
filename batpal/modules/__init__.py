"""LightningModules, one per training stage; each owns its collector and its optimizers."""

from batpal.modules.batpal import BATPALModule
from batpal.modules.calibration import CalibrationModule
from batpal.modules.mappo import MAPPOModule
from batpal.modules.rollout import RolloutModule

__all__ = ["BATPALModule", "CalibrationModule", "MAPPOModule", "RolloutModule"]
