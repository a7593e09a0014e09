"""Centralised critic: V(state) shared by the team, broadcast to every agent's slot (MAPPO)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tensordict.nn import TensorDictModule
from tensordict.utils import NestedKey
from torch import nn
from torchrl.modules import MLP

from batpal.nn.activations import activation_class

AGENTS = "agents"


class StateCriticNet(nn.Module):
    """Team value from the global state (plus optional extra inputs), repeated over the agent dim."""

    def __init__(
        self, in_features: int, n_agents: int, hidden: Sequence[int] = (128, 128), activation: str = "relu"
    ) -> None:
        super().__init__()
        self.n_agents = n_agents
        self.mlp = MLP(
            in_features=in_features,
            out_features=1,
            num_cells=list(hidden),
            activation_class=activation_class(activation),
        )

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        value = self.mlp(torch.cat(inputs, dim=-1))  # [.., 1]
        return value.unsqueeze(-2).expand(*value.shape[:-1], self.n_agents, 1)  # [.., N, 1]


def make_critic(
    in_keys: Sequence[NestedKey],
    in_features: int,
    n_agents: int,
    hidden: Sequence[int] = (128, 128),
    activation: str = "relu",
) -> TensorDictModule:
    """Critic writing ``("agents", "state_value")`` for TorchRL's multi-agent GAE and MAPPO loss."""
    net = StateCriticNet(in_features, n_agents, hidden, activation)
    return TensorDictModule(net, in_keys=list(in_keys), out_keys=[(AGENTS, "state_value")])
