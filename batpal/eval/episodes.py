"""Play ``episodes`` whole episodes of a policy, batched, and measure return, discounted return and wins.

``play_chunks`` is the one episode loop of every evaluation (a policy alone, a type of the game, a defender under
an attack): chunks of envs on one batched env, each env played until its first episode ends. Its batch is the
config's ``env.eval_envs`` (default ``env.num_envs``; ``batpal.config.settings.eval_envs``), which bounds the
StarCraft II processes an evaluation starts on SMAC.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from tensordict import TensorDictBase
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


@dataclass
class Chunk:
    """One chunk of envs played until each one's first episode ends."""

    traj: TensorDictBase  # [n, T]
    alive: torch.Tensor  # [n, T] bool: the steps of each env's first episode
    first_end: torch.Tensor  # [n] the step where it ends

    def returns(self) -> torch.Tensor:
        """The undiscounted team return of each env's first episode [n]."""
        return (self.traj.get(("next", "reward")).squeeze(-1) * self.alive).sum(-1)


ChunkDecorate = Callable[[TransformedEnv, slice, int], TransformedEnv]


def span_rows(values: torch.Tensor, span: slice) -> torch.Tensor:
    """Rows ``span`` of a per-episode tensor, one per env of a chunk: rows past its end (the last chunk's padding
    envs) repeat its last row."""
    index = torch.arange(span.start, span.stop, device=values.device).clamp(max=values.shape[0] - 1)
    return values[index]


@contextmanager
def _seeded(seed: int, device: str | torch.device) -> Iterator[None]:
    """Global torch (and CUDA) RNG seeded with ``seed`` inside, restored after."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


@torch.no_grad()
def play_chunks(
    policy: TensorDictModuleBase,
    env_name: str,
    episodes: int,
    *,
    seed: int,
    max_episode_steps: int,
    num_envs: int,
    device: str | torch.device = "cpu",
    env_kwargs: dict[str, Any] | None = None,
    decorate: ChunkDecorate | None = None,
    seed_step: int = 7919,
) -> Iterator[Chunk]:
    """Chunks of ``min(num_envs, episodes)`` envs until ``episodes``, all on one batched env built once (on SMAC:
    that many StarCraft II processes, whatever ``episodes``); chunk i reseeds it with ``seed + i * seed_step``.

    The last chunk plays the whole batch and keeps its first episodes, so the figures depend on ``(seed,
    num_envs, episodes)`` alone. ``decorate(env, span, chunk_seed)`` appends the transforms the policy needs for
    the chunk's episodes ``span`` (of 0..episodes, as long as the batch: on the last chunk it may run past
    ``episodes``, see ``span_rows``), e.g. their fixed victims, the type draw, the belief's recurrent state; it
    gets a fresh view of the shared env each chunk, so no chunk's transforms stay for the next.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}.")
    batch = min(num_envs, episodes)
    shared = make(env_name, batch, seed, device, **(env_kwargs or {}))
    try:
        for i, start in enumerate(range(0, episodes, batch)):
            chunk_seed = seed + i * seed_step
            env = TransformedEnv(shared, auto_unwrap=True)  # the shared env's own transforms, cloned
            if decorate is not None:
                env = decorate(env, slice(start, start + batch), chunk_seed)
            # the policy's draws from a generator seeded by the chunk, whatever the caller's RNG state: a stage's
            # final evaluation gives the same figures after a resume as in a run left alone (and leaves the
            # caller's stream untouched)
            with _seeded(chunk_seed, device), set_exploration_type(ExplorationType.RANDOM):
                env.set_seed(chunk_seed)
                traj = env.rollout(max_episode_steps, policy, break_when_any_done=False)  # [batch, T]
            yield _first_episodes(traj[: episodes - start], env_name, max_episode_steps)
    finally:
        shared.close(raise_if_closed=False)


def _first_episodes(traj: TensorDictBase, env_name: str, max_episode_steps: int) -> Chunk:
    """The chunk of ``traj`` [n, T]: each env's first episode, which must end within ``max_episode_steps``."""
    done = traj.get(("next", "done")).squeeze(-1)  # [n, T]
    if not bool(done.any(-1).all()):
        raise RuntimeError(f"an episode of {env_name} ran past max_episode_steps={max_episode_steps}.")
    steps = torch.arange(done.shape[-1], device=done.device)
    first_end = torch.where(done, steps, done.shape[-1]).min(-1).values  # [n]
    return Chunk(traj, steps <= first_end.unsqueeze(-1), first_end)


def measure(chunks: Iterator[Chunk], gamma: float) -> EvalResult:
    """Return, discounted return (from the first step) and win flag (SMAC) of every chunk's episodes."""
    returns, discounted, wins = [], [], []
    for chunk in chunks:
        reward = chunk.traj.get(("next", "reward")).squeeze(-1)  # [n, T]
        steps = torch.arange(reward.shape[-1], device=reward.device)
        returns.append(chunk.returns())
        discounted.append((reward * chunk.alive * gamma ** steps.to(reward.dtype)).sum(-1))
        won = chunk.traj.get(("next", "info", "battle_won"), None)
        if won is not None:
            wins.append(won.reshape(reward.shape).gather(-1, chunk.first_end.unsqueeze(-1)).squeeze(-1).float())
    return EvalResult(
        returns=torch.cat(returns).cpu(),
        discounted=torch.cat(discounted).cpu(),
        wins=torch.cat(wins).cpu() if wins else None,
    )


@torch.no_grad()
def evaluate_policy(
    policy: TensorDictModuleBase,
    env_name: str,
    episodes: int,
    *,
    seed: int,
    gamma: float,
    max_episode_steps: int,
    num_envs: int,
    device: str | torch.device = "cpu",
    env_kwargs: dict[str, Any] | None = None,
    decorate: Callable[[TransformedEnv], TransformedEnv] | None = None,
) -> EvalResult:
    """Each env plays until its first episode ends; chunks of ``num_envs`` envs (``eval_envs`` of the config's env,
    ``batpal.config.settings.eval_envs``) until ``episodes`` are done.

    ``decorate`` appends transforms the policy needs (the type draw, the belief's recurrent state).
    """

    def chunk_decorate(env: TransformedEnv, span: slice, chunk_seed: int) -> TransformedEnv:
        return decorate(env)

    chunks = play_chunks(
        policy,
        env_name,
        episodes,
        seed=seed,
        max_episode_steps=max_episode_steps,
        num_envs=num_envs,
        device=device,
        env_kwargs=env_kwargs,
        decorate=None if decorate is None else chunk_decorate,
    )
    return measure(chunks, gamma)
