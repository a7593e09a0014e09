"""A frozen defender under an attack: its team with the attack in the victims' slots, for whole episodes.

Both ways of handing out victims play on the one episode loop (``play_chunks``) and differ only where they must:

- ``evaluate_attack``, one cell of the cross table: every victim (set) of ``defender.space`` fixed in its own envs,
  ``episodes`` each (with m > 1 the attack plays each of the set's agents, ``AttackedTeam`` with the sets);
  return, discounted return and wins.
- ``evaluate_under_attack``, the figures of ``python -m batpal.attack``: one victim drawn uniformly per episode
  (``VictimDraw``; none without an attack), its own generator; return and the victim's detectability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from tensordict.nn import TensorDictModuleBase
from torchrl.envs import TransformedEnv

from batpal.eval.attacked_team import AttackedTeam
from batpal.eval.defenders import Defender
from batpal.eval.episodes import EvalResult, measure, play_chunks, span_rows
from batpal.eval.normalize import normalized_return
from batpal.game.victim_draw import VictimDraw
from batpal.objectives.detectability import agent_detectability, agent_deviation, at_victim


def victims_for(attack: TensorDictModuleBase, n_sets: int, episodes: int) -> torch.Tensor:
    """Victim (set) per env [E]: set v (agent v when m = 1) for ``episodes`` envs each, or -1 everywhere for an
    attack on nobody."""
    if not getattr(attack, "targets_victims", True):
        return torch.full((episodes,), -1, dtype=torch.long)
    return torch.arange(n_sets).repeat_interleave(episodes)  # [n_sets * episodes]


@torch.no_grad()
def evaluate_attack(
    defender: Defender, attack: TensorDictModuleBase, episodes: int, *, seed: int, num_envs: int
) -> EvalResult:
    """The defender's team with ``attack`` in the victims' slots, all victim sets on one batched env (chunks of
    ``num_envs``, chunk i seeded ``seed + i * num_envs``); the same ``seed`` gives every cell of one size the same
    start states and sampling stream."""
    space = defender.space
    victims = victims_for(attack, space.n_sets, episodes)
    policy = AttackedTeam(defender.policy(), attack, space.members if space.victims > 1 else None)
    torch.manual_seed(seed)  # the policies sample from the global generator

    def decorate(env: TransformedEnv, span: slice, chunk_seed: int) -> TransformedEnv:
        return defender.decorate(env, span_rows(victims, span), seed)

    chunks = play_chunks(
        policy,
        defender.env_name,
        victims.numel(),
        seed=seed,
        max_episode_steps=defender.max_episode_steps,
        num_envs=num_envs,
        env_kwargs=defender.env_kwargs,
        decorate=decorate,
        seed_step=num_envs,
    )
    return measure(chunks, defender.gamma)


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
    num_envs: int,
    device: str | torch.device = "cpu",
) -> AttackEval:
    """Each env plays its first episode with a uniform victim (none when ``attack`` is None); chunks of
    ``num_envs`` envs until ``episodes``. Actions are sampled from a generator seeded with ``seed`` (the caller's
    global RNG is left as it was), so the same weights always give the same figures.

    Without an attack no env has a victim and the defender plays as itself; the detectability reported then is a
    normal agent's, -log pi0(a_i | o_i) averaged over the agents (the baseline an attack is compared with).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _under_attack(defender, attack, episodes, seed, num_envs, device)


def _under_attack(
    defender: Defender,
    attack: TensorDictModuleBase | None,
    episodes: int,
    seed: int,
    num_envs: int,
    device: str | torch.device,
) -> AttackEval:
    policy = defender.policy() if attack is None else AttackedTeam(defender.policy(), attack)

    def decorate(env: TransformedEnv, span: slice, chunk_seed: int) -> TransformedEnv:
        n = span.stop - span.start
        no_victim = torch.full((n,), -1, dtype=torch.long, device=env.device)
        env = defender.decorate(env, no_victim, chunk_seed + 2)
        if attack is not None:
            env.append_transform(VictimDraw.for_defender(defender, n, chunk_seed + 1, env.device))
        return env

    chunks = play_chunks(
        policy,
        defender.env_name,
        episodes,
        seed=seed,
        max_episode_steps=defender.max_episode_steps,
        num_envs=num_envs,
        device=device,
        env_kwargs=defender.env_kwargs,
        decorate=decorate,
    )
    reference = defender.reference_policy()
    returns, detect, deviate = [], [], []
    for chunk in chunks:
        traj, alive = chunk.traj, chunk.alive.float()  # [n, T]
        returns.append(chunk.returns())
        d, off = agent_detectability(reference, traj), agent_deviation(reference, traj)  # [n, T, N]
        if attack is None:  # a normal agent's figures, averaged over the agents
            d, off = d.mean(-1), off.mean(-1)
        else:  # the victim's
            d, off = at_victim(d, traj.get("victim")), at_victim(off, traj.get("victim"))
        detect.append((d * alive).sum(-1) / alive.sum(-1))
        deviate.append((off * alive).sum(-1) / alive.sum(-1))
    return AttackEval(torch.cat(returns).cpu(), torch.cat(detect).cpu(), torch.cat(deviate).cpu())


def _standard_error(x: torch.Tensor) -> float:
    return float(x.std() / math.sqrt(x.numel())) if x.numel() > 1 else 0.0
