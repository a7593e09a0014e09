"""A learnt adversary as an attack: an MLP on ``adversary_input`` (victim observation ++ victim one-hot), sampled.

The form of BATPAL's psi_k (section E.2), of the adversaries trained inside baseline runs and of the RL attacks
trained by ``python -m batpal.attack`` (``attack.pt``).
"""

from __future__ import annotations

import torch
from torch import nn
from torchrl.modules import MaskedCategorical

from batpal.attacks.base import Attack
from batpal.nn.adversary import adversary_input


class NetworkAttack(Attack):
    """Samples ``MaskedCategorical(net(adversary_input(obs, victim, N)), victim mask)``; ``net`` stays frozen."""

    def __init__(self, net: nn.Module, n_agents: int, label: str, env_name: str | None = None) -> None:
        super().__init__(label)
        self.net = net.requires_grad_(False)
        self.n_agents = n_agents
        self.env_name = env_name  # the env it was trained on, checked against the defenders'

    def act(self, observation: torch.Tensor, victim_mask: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
        logits = self.net(adversary_input(observation, victim, self.n_agents))  # [B, A]
        return MaskedCategorical(logits=logits, mask=victim_mask).sample()  # [B]
