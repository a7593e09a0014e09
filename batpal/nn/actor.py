"""Shared actor: one MLP for every agent on (observation, extra inputs, agent one-hot) -> masked categorical."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tensordict.nn import TensorDictModule
from tensordict.utils import NestedKey
from torch import nn
from torchrl.modules import MLP, MaskedCategorical, ProbabilisticActor

from batpal.nn.activations import activation_class

AGENTS = "agents"


class AgentActorNet(nn.Module):
    """Logits for every agent from its own inputs plus its one-hot id (parameter sharing, section E.2)."""

    def __init__(
        self,
        in_features: int,
        n_agents: int,
        n_actions: int,
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.n_agents = n_agents
        self.register_buffer("agent_ids", torch.eye(n_agents), persistent=False)
        self.mlp = MLP(
            in_features=in_features + n_agents,
            out_features=n_actions,
            num_cells=list(hidden),
            activation_class=activation_class(activation),
        )

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        x = torch.cat(inputs, dim=-1)  # [.., N, in_features]
        ids = self.agent_ids.expand(*x.shape[:-2], self.n_agents, self.n_agents)  # [.., N, N]
        return self.mlp(torch.cat([x, ids], dim=-1))  # [.., N, A]


def make_actor(
    in_keys: Sequence[NestedKey],
    in_features: int,
    n_agents: int,
    n_actions: int,
    hidden: Sequence[int] = (128, 128),
    activation: str = "relu",
    net: AgentActorNet | None = None,
) -> ProbabilisticActor:
    """Policy ``("agents", "action") ~ MaskedCategorical(logits, action_mask)`` with its log-prob stored."""
    net = net if net is not None else AgentActorNet(in_features, n_agents, n_actions, hidden, activation)
    logits = TensorDictModule(net, in_keys=list(in_keys), out_keys=[(AGENTS, "logits")])
    return ProbabilisticActor(
        logits,
        in_keys={"logits": (AGENTS, "logits"), "mask": (AGENTS, "action_mask")},
        out_keys=[(AGENTS, "action")],
        distribution_class=MaskedCategorical,
        return_log_prob=True,
        log_prob_key=(AGENTS, "action_log_prob"),
    )


def actor_net(actor: ProbabilisticActor) -> AgentActorNet:
    """The ``AgentActorNet`` inside an actor built by ``make_actor`` (shared, not copied)."""
    return actor.module[0].module
