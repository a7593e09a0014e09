"""A frozen defender under an attack: team return and the victim's detectability, one victim drawn per episode.

Without an attack (``attack=None``) no env has a victim and the defender plays as itself; the detectability
reported then is a normal agent's, -log pi0(a_i | o_i) averaged over the agents (the baseline an attack is
compared with).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from tensordict.nn import TensorDictModuleBase
from torchrl.envs.utils import ExplorationType, set_exploration_type

from batpal.defenders import AttackedTeam, Defender
from batpal.envs import make
from batpal.envs.victim_draw import VictimDraw
from batpal.eval.normalize import normalized_return
from batpal.objectives.detectability import agent_detectability, agent_deviation, at_victim


@dataclass
class AttackEval:
    """Per episode: the team's undiscounted return, and over the victim's steps the mean detectability and the
    share of actions that are not pi0's most likely one."""

    returns: torch.Tensor  # [episodes]
    detectability: torch.Tensor  # [episodes]
    deviation: torch.Tensor  # [episodes]

    def summary(self, env_name: str) -> dict[str, Any]:
        return_mean = float(self.returns.mean())
        return {
            "episodes": self.returns.numel(),
            "return_mean": return_mean,
            "return_se": _standard_error(self.returns),
            "return_normalized": normalized_return(env_name, return_mean),
            "detectability_mean": float(self.detectability.mean()),
            "detectability_se": _standard_error(self.detectability),
            "deviation_rate": float(self.deviation.mean()),
        }


@torch.no_grad()
def evaluate_under_attack(
    defender: Defender,
    attack: TensorDictModuleBase | None,
    episodes: int,
    *,
    seed: int,
    num_envs: int = 256,
    device: str | torch.device = "cpu",
) -> AttackEval:
    """Each env plays its first episode with a uniform victim (none when ``attack`` is None); chunks of
    ``num_envs`` envs until ``episodes``. Actions are sampled from a generator seeded with ``seed`` (the caller's
    global RNG is left as it was), so the same weights always give the same figures."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _play(defender, attack, episodes, seed, num_envs, device)


def _play(
    defender: Defender,
    attack: TensorDictModuleBase | None,
    episodes: int,
    seed: int,
    num_envs: int,
    device: str | torch.device,
) -> AttackEval:
    policy = defender.policy() if attack is None else AttackedTeam(defender.policy(), attack)
    returns, detect, deviate = [], [], []
    remaining, chunk_seed = episodes, seed
    while remaining > 0:
        n = min(num_envs, remaining)
        env = make(defender.env_name, n, chunk_seed, device, **defender.env_kwargs)
        no_victim = torch.full((n,), -1, dtype=torch.long, device=env.device)
        env = defender.decorate(env, no_victim, chunk_seed + 2)
        if attack is not None:
            env.append_transform(VictimDraw.for_defender(defender, n, chunk_seed + 1, env.device))
        try:
            with set_exploration_type(ExplorationType.RANDOM):
                traj = env.rollout(defender.max_episode_steps, policy, break_when_any_done=False)  # [n, T]
        finally:
            env.close()
        done = traj.get(("next", "done")).squeeze(-1)  # [n, T]
        if not bool(done.any(-1).all()):
            raise RuntimeError(f"an episode ran past max_episode_steps={defender.max_episode_steps}.")
        steps = torch.arange(done.shape[-1], device=done.device)
        first_end = torch.where(done, steps, done.shape[-1]).min(-1).values  # [n]
        alive = (steps <= first_end.unsqueeze(-1)).float()  # [n, T] steps of each env's first episode
        returns.append((traj.get(("next", "reward")).squeeze(-1) * alive).sum(-1))
        reference = defender.reference_policy()
        d, off = agent_detectability(reference, traj), agent_deviation(reference, traj)  # [n, T, N]
        if attack is None:  # a normal agent's figures, averaged over the agents
            d, off = d.mean(-1), off.mean(-1)
        else:  # the victim's
            d, off = at_victim(d, traj.get("victim")), at_victim(off, traj.get("victim"))
        detect.append((d * alive).sum(-1) / alive.sum(-1))
        deviate.append((off * alive).sum(-1) / alive.sum(-1))
        remaining -= n
        chunk_seed += 7919
    return AttackEval(torch.cat(returns).cpu(), torch.cat(detect).cpu(), torch.cat(deviate).cpu())


def _standard_error(x: torch.Tensor) -> float:
    return float(x.std() / math.sqrt(x.numel())) if x.numel() > 1 else 0.0
