"""One cell of the cross table: a frozen defender under one attack, every victim (set), ``episodes`` episodes each.

With ``defender.victims = m > 1`` every victim set of ``defender.space.sets`` is attacked, the attack playing
each of its m agents (``AttackedTeam`` with the sets); with m = 1 the sets are the single agents."""

from __future__ import annotations

import torch
from tensordict.nn import TensorDictModuleBase
from torchrl.envs import TransformedEnv

from batpal.defenders import AttackedTeam, Defender
from batpal.eval.episodes import EvalResult, evaluate_policy


def victims_for(attack: TensorDictModuleBase, n_sets: int, episodes: int) -> torch.Tensor:
    """Victim (set) per env [E]: set v (agent v when m = 1) for ``episodes`` envs each, or -1 everywhere for an
    attack on nobody."""
    if not getattr(attack, "targets_victims", True):
        return torch.full((episodes,), -1, dtype=torch.long)
    return torch.arange(n_sets).repeat_interleave(episodes)  # [n_sets * episodes]


@torch.no_grad()
def evaluate_attack(
    defender: Defender, attack: TensorDictModuleBase, episodes: int, *, seed: int, max_envs: int = 4096
) -> EvalResult:
    """The defender's team with ``attack`` in the victims' slots, all victim sets batched in one env (chunks of
    ``max_envs``); the same ``seed`` gives every cell of one size the same start states and sampling stream."""
    space = defender.space
    victims = victims_for(attack, space.n_sets, episodes)
    policy = AttackedTeam(defender.policy(), attack, space.members if space.victims > 1 else None)
    torch.manual_seed(seed)  # the policies sample from the global generator
    results = []
    for start in range(0, victims.numel(), max_envs):
        chunk = victims[start : start + max_envs]

        def decorate(env: TransformedEnv, chunk: torch.Tensor = chunk) -> TransformedEnv:
            return defender.decorate(env, chunk, seed)

        results.append(
            evaluate_policy(
                policy,
                defender.env_name,
                chunk.numel(),
                seed=seed + start,
                gamma=defender.gamma,
                max_episode_steps=defender.max_episode_steps,
                num_envs=chunk.numel(),
                env_kwargs=defender.env_kwargs,
                decorate=decorate,
            )
        )
    return EvalResult.concat(results)
