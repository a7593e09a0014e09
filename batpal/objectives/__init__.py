"""Losses: MAPPO (TorchRL's), and later EC-PPO (eq. 14) and the belief cross-entropy."""

from batpal.objectives.mappo import build_mappo_loss

__all__ = ["build_mappo_loss"]
