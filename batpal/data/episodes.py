"""Statistics of the episodes that finished inside a batch (return, length, win flag)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tensordict import TensorDictBase


@dataclass
class EpisodeStats:
    """Per finished episode: undiscounted team return and, for SMAC, the win flag."""

    returns: torch.Tensor  # [episodes]
    wins: torch.Tensor | None  # [episodes] float, or None where the env has no win flag

    @property
    def count(self) -> int:
        return int(self.returns.numel())


def finished_episodes(batch: TensorDictBase) -> EpisodeStats:
    """Read ``("next", "episode_reward")`` (RewardSum) where an episode ended in ``batch``."""
    done = batch.get(("next", "done")).squeeze(-1)  # [envs, time]
    returns = batch.get(("next", "episode_reward")).squeeze(-1)[done]
    won = batch.get(("next", "info", "battle_won"), None)
    wins = won.reshape(done.shape)[done].float() if won is not None else None
    return EpisodeStats(returns=returns, wins=wins)
