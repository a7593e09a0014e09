"""``random``: the victim acts uniformly at random over its legal actions."""

from __future__ import annotations

import torch

from batpal.attacks.base import Attack


class RandomAttack(Attack):
    """Uniform over the victim's legal actions (a naive, easily detected attack)."""

    def __init__(self, label: str = "Random") -> None:
        super().__init__(label)

    def act(self, observation: torch.Tensor, victim_mask: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
        return torch.multinomial(victim_mask.float(), 1).squeeze(-1)  # [B]
