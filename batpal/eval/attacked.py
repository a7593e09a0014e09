"""One cell of the cross table: a frozen defender under one attack, every victim, ``episodes`` episodes each."""

from __future__ import annotations

import torch
from tensordict.nn import TensorDictModuleBase
from torchrl.envs import TransformedEnv

from batpal.defenders import AttackedTeam, Defender
from batpal.eval.episodes import EvalResult, evaluate_policy


def victims_for(attack: TensorDictModuleBase, n_agents: int, episodes: int) -> torch.Tensor:
    """Victim per env [E]: agent v for ``episodes`` envs each, or -1 everywhere for an attack on nobody."""
    if not getattr(attack, "targets_victims", True):
        return torch.full((episodes,), -1, dtype=torch.long)
    return torch.arange(n_agents).repeat_interleave(episodes)  # [N * episodes]


@torch.no_grad()
def evaluate_attack(
    defender: Defender, attack: TensorDictModuleBase, episodes: int, *, seed: int, max_envs: int = 4096
) -> EvalResult:
    """The defender's team with ``attack`` in the victim's slot, all victims batched in one env (chunks of
    ``max_envs``); the same ``seed`` gives every cell of one size the same start states and sampling stream."""
    victims = victims_for(attack, defender.n_agents, episodes)
    policy = AttackedTeam(defender.policy(), attack)
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
    return concat_results(results)


def concat_results(results: list[EvalResult]) -> EvalResult:
    """The episodes of several evaluations as one."""
    wins = [r.wins for r in results if r.wins is not None]
    return EvalResult(
        returns=torch.cat([r.returns for r in results]),
        discounted=torch.cat([r.discounted for r in results]),
        wins=torch.cat(wins) if wins else None,
    )
