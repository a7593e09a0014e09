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

    @torch.no_grad()
    def warm_start_from(self, reference: nn.Module) -> bool:
        """Every psi_k starts as a copy of the reference policy's MLP (same input: observation ++ agent one-hot).

        psi_k then begins at severity 0 and the band constraint only has to make it harsher, instead of first
        taming a random policy, which on MPE is already at severity about 0.5. False (nothing copied) when the
        shapes differ.
        """
        state = reference.state_dict()
        if any(
            set(state) != set(net.state_dict()) or any(state[n].shape != t.shape for n, t in net.state_dict().items())
            for net in self.nets
        ):
            return False
        for net in self.nets:
            net.load_state_dict(state)
        return True

    def logits_of(self, k: int, inputs: torch.Tensor) -> torch.Tensor:
        """Logits of psi_k (k in 1..K) on ``inputs`` [.., D] -> [.., A]."""
        return self.nets[k - 1](inputs)

    def forward(self, inputs: torch.Tensor, severity: torch.Tensor) -> torch.Tensor:
        """Logits [B, (m,) A] of psi_{severity[b]} for each env b (severity in 1..K; benign rows use psi_1).

        ``inputs`` is [B, D], or [B, m, D] for m victims (psi_k plays each with shared parameters). Each psi_k
        runs on its own rows only, so the cost does not grow with K.
        """
        k_of_row = severity.clamp(1, self.K)  # [B]
        logits = None
        for k, net in enumerate(self.nets, start=1):
            rows = k_of_row == k
            if not bool(rows.any()):
                continue
            out = net(inputs[rows])
            if logits is None:
                logits = out.new_empty(*inputs.shape[:-1], out.shape[-1])
            logits[rows] = out
        return logits


def adversary_input(observation: torch.Tensor, victim: torch.Tensor, n_agents: int) -> torch.Tensor:
    """The victim's own observation and its one-hot id, [B, obs + N]; benign envs (victim -1) use agent 0.

    ``victim`` [B] gives one victim agent per env, [B, m] several (then the input is [B, m, obs + N]).
    """
    v = victim.clamp(min=0)
    rows = torch.arange(observation.shape[0], device=observation.device).view(-1, *([1] * (v.dim() - 1)))
    one_hot = torch.nn.functional.one_hot(v, n_agents).to(observation.dtype)
    return torch.cat([observation[rows, v], one_hot], dim=-1)
