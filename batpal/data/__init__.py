"""Rollouts: the TorchRL collector stream that feeds the LightningModule, and episode statistics."""

from batpal.data.episodes import EpisodeStats, finished_episodes
from batpal.data.rollouts import CollectorStream, make_collector

__all__ = ["CollectorStream", "EpisodeStats", "finished_episodes", "make_collector"]
