"""``noop``: the victim stops contributing: action 0 (no-op on MPE and LBF) or its first legal action."""

from __future__ import annotations

import torch

from batpal.attacks.base import Attack


class NoopAttack(Attack):
    """Action 0 where legal, else the lowest-index legal action (SMAC's no-op is only legal for dead units)."""

    def __init__(self, label: str = "No-op") -> None:
        super().__init__(label)

    def act(self, observation: torch.Tensor, victim_mask: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
        return victim_mask.int().argmax(-1)  # [B] the first True, i.e. 0 whenever 0 is legal
