"""Adversary networks psi_1..psi_K: one MLP per severity on (victim observation, victim one-hot), section E.2."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchrl.modules import MLP

from batpal.nn.activations import activation_class


class AdversaryPopulation(nn.Module):
    """K separate adversary policies (one optimizer each); ``forward`` picks psi_k per env by its severity."""

    def __init__(
        self,
        in_features: int,
        n_actions: int,
        K: int,
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.nets = nn.ModuleList(
            MLP(
                in_features=in_features,
                out_features=n_actions,
                num_cells=list(hidden),
                activation_class=activation_class(activation),
            )
            for _ in range(K)
        )

    @property
    def K(self) -> int:
        return len(self.nets)

    def logits_of(self, k: int, inputs: torch.Tensor) -> torch.Tensor:
        """Logits of psi_k (k in 1..K) on ``inputs`` [.., D] -> [.., A]."""
        return self.nets[k - 1](inputs)

    def forward(self, inputs: torch.Tensor, severity: torch.Tensor) -> torch.Tensor:
        """Logits [B, A] of psi_{severity[b]} for each env b (severity in 1..K; all K nets run, K is small)."""
        stacked = torch.stack([net(inputs) for net in self.nets], dim=0)  # [K, B, A]
        index = (severity.clamp(1, self.K) - 1).view(1, -1, 1).expand(1, *stacked.shape[1:])
        return stacked.gather(0, index).squeeze(0)  # [B, A]


def adversary_input(observation: torch.Tensor, victim: torch.Tensor, n_agents: int) -> torch.Tensor:
    """The victim's own observation and its one-hot id, [B, obs + N]; benign envs (victim -1) use agent 0."""
    v = victim.clamp(min=0)
    rows = torch.arange(observation.shape[0], device=observation.device)
    one_hot = torch.nn.functional.one_hot(v, n_agents).to(observation.dtype)
    return torch.cat([observation[rows, v], one_hot], dim=-1)
