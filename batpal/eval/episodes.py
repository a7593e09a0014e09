"""Play ``episodes`` whole episodes of a policy, batched, and measure return, discounted return and wins."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tensordict.nn import TensorDictModuleBase
from torchrl.envs import TransformedEnv
from torchrl.envs.utils import ExplorationType, set_exploration_type

from batpal.envs import make


@dataclass
class EvalResult:
    """Per-episode returns (undiscounted and discounted from the first step) and win flags (SMAC)."""

    returns: torch.Tensor  # [episodes]
    discounted: torch.Tensor  # [episodes]
    wins: torch.Tensor | None  # [episodes]

    @classmethod
    def concat(cls, results: list[EvalResult]) -> EvalResult:
        """The episodes of several evaluations as one (e.g. every victim of one attack)."""
        wins = [r.wins for r in results if r.wins is not None]
        return cls(
            returns=torch.cat([r.returns for r in results]),
            discounted=torch.cat([r.discounted for r in results]),
            wins=torch.cat(wins) if wins else None,
        )

    def summary(self) -> dict[str, float]:
        """Means with standard errors and the 95% interval of the discounted return (the value V)."""
        n = self.returns.numel()
        out = {
            "episodes": float(n),
            "return_mean": float(self.returns.mean()),
            "return_se": float(self.returns.std() / math.sqrt(n)) if n > 1 else 0.0,
            "value_mean": float(self.discounted.mean()),
        }
        se = float(self.discounted.std() / math.sqrt(n)) if n > 1 else 0.0
        out["value_ci95"] = [out["value_mean"] - 1.96 * se, out["value_mean"] + 1.96 * se]
        if self.wins is not None:
            out["win_rate"] = float(self.wins.mean())
        return out


@torch.no_grad()
def evaluate_policy(
    policy: TensorDictModuleBase,
    env_name: str,
    episodes: int,
    *,
    seed: int,
    gamma: float,
    max_episode_steps: int,
    num_envs: int = 256,
    device: str | torch.device = "cpu",
    env_kwargs: dict[str, Any] | None = None,
    decorate: Callable[[TransformedEnv], TransformedEnv] | None = None,
) -> EvalResult:
    """Each env plays until its first episode ends; chunks of ``num_envs`` envs until ``episodes`` are done.

    ``decorate`` appends transforms the policy needs (the type draw, the belief's recurrent state).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    returns, discounted, wins = [], [], []
    remaining, chunk_seed = episodes, seed
    while remaining > 0:
        n = min(num_envs, remaining)
        env = make(env_name, n, chunk_seed, device, **(env_kwargs or {}))
        if decorate is not None:
            env = decorate(env)
        try:
            with set_exploration_type(ExplorationType.RANDOM):
                traj = env.rollout(max_episode_steps, policy, break_when_any_done=False)  # [n, T]
        finally:
            env.close()
        reward = traj.get(("next", "reward")).squeeze(-1)  # [n, T]
        done = traj.get(("next", "done")).squeeze(-1)
        if not bool(done.any(-1).all()):
            raise RuntimeError(f"an episode of {env_name} ran past max_episode_steps={max_episode_steps}.")
        steps = torch.arange(done.shape[-1], device=done.device)
        first_end = torch.where(done, steps, done.shape[-1]).min(-1).values  # [n]
        alive = steps <= first_end.unsqueeze(-1)  # [n, T] steps of the first episode
        returns.append((reward * alive).sum(-1))
        discounted.append((reward * alive * gamma ** steps.to(reward.dtype)).sum(-1))
        won = traj.get(("next", "info", "battle_won"), None)
        if won is not None:
            wins.append(won.reshape(done.shape).gather(-1, first_end.unsqueeze(-1)).squeeze(-1).float())
        remaining -= n
        chunk_seed += 7919
    return EvalResult(
        returns=torch.cat(returns).cpu(),
        discounted=torch.cat(discounted).cpu(),
        wins=torch.cat(wins).cpu() if wins else None,
    )
