"""Reference simple_spread: the original mpe2 pettingzoo env, reshaped into batpal's shared layout.

Why: it is the ground truth that :mod:`batpal.envs.mpe` ports; it is slow (one Python world per
batch entry, stepped serially) and is meant for checks, not training.

``PettingZooWrapper`` with ``group_map={"agents": [...]}`` gives ``("agents", "observation")``,
``("agents", "action")``, ``"state"`` (mpe2's ``state()``: the agents' observations concatenated) and
per-agent ``("agents", "reward" | "done" | "terminated" | "truncated")``. :class:`TeamLayout` adds the
root team reward (sum over agents) and an all-True ``("agents", "action_mask")`` and drops the per-agent
reward and done entries (an ``ExcludeTransform`` would leave an empty ``"agents"`` done spec behind).
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDictBase
from torchrl.data import Categorical, Composite, Unbounded
from torchrl.envs import PettingZooWrapper, SerialEnv, Transform, TransformedEnv

AGENT_KEYS = (("agents", "reward"), ("agents", "done"), ("agents", "terminated"), ("agents", "truncated"))


class TeamLayout(Transform):
    """Team reward (sum of ``("agents", "reward")`` [.., N, 1]) and all-True action mask; no per-agent dones."""

    def __init__(self, n_actions: int) -> None:
        super().__init__()
        self.n_actions = n_actions

    def _mask(self, td: TensorDictBase) -> torch.Tensor:
        """All actions are always available in simple_spread."""
        obs = td.get(("agents", "observation"))  # [..., N, obs]
        return torch.ones(*obs.shape[:-1], self.n_actions, dtype=torch.bool, device=obs.device)  # [..., N, A]

    def _call(self, next_tensordict: TensorDictBase) -> TensorDictBase:
        next_tensordict.set("reward", next_tensordict.get(("agents", "reward")).sum(-2))  # [..., 1]
        next_tensordict.set(("agents", "action_mask"), self._mask(next_tensordict))
        return next_tensordict.exclude(*AGENT_KEYS)

    def _reset(self, tensordict: TensorDictBase, tensordict_reset: TensorDictBase) -> TensorDictBase:
        tensordict_reset.set(("agents", "action_mask"), self._mask(tensordict_reset))
        return tensordict_reset.exclude(*AGENT_KEYS)

    def transform_output_spec(self, output_spec: Composite) -> Composite:
        agents = output_spec["full_observation_spec", "agents"]
        agent_reward = output_spec["full_reward_spec", "agents", "reward"]  # [..., N, 1]
        agents["action_mask"] = Categorical(
            2, (*agents.shape, self.n_actions), dtype=torch.bool, device=agent_reward.device
        )
        batch = output_spec.shape
        output_spec["full_reward_spec", "reward"] = Unbounded(
            (*batch, 1), dtype=agent_reward.dtype, device=agent_reward.device
        )
        del output_spec["full_reward_spec", "agents"]
        del output_spec["full_done_spec", "agents"]
        return output_spec


def _make_one(n_agents: int, max_steps: int, local_ratio: float, device: torch.device) -> PettingZooWrapper:
    """One mpe2 simple_spread_v3 parallel env wrapped with all agents in the "agents" group."""
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(
        N=n_agents, local_ratio=local_ratio, max_cycles=max_steps, continuous_actions=False
    )
    group_map = {"agents": [f"agent_{i}" for i in range(n_agents)]}
    return PettingZooWrapper(
        env=env, group_map=group_map, categorical_actions=True, return_state=True, use_mask=False, device=device
    )


def make_spread_pettingzoo(
    num_envs: int,
    seed: int,
    device: torch.device,
    n_agents: int = 3,
    max_steps: int = 50,
    local_ratio: float = 0.5,
    **kwargs: Any,
) -> TransformedEnv:
    """Registry factory: ``num_envs`` mpe2 envs in a ``SerialEnv`` (batch [num_envs]) in the shared layout."""
    device = torch.device(device)

    def create() -> PettingZooWrapper:
        return _make_one(n_agents, max_steps, local_ratio, device)

    base = SerialEnv(num_envs, create, device=device, **kwargs)
    env = TransformedEnv(base, TeamLayout(n_actions=5))
    env.set_seed(seed)
    return env
