"""``none``: no attack; the victim keeps the team's own action (the paper's "No attack" row)."""

from __future__ import annotations

import torch
from tensordict import TensorDictBase

from batpal.attacks.base import AGENTS, VICTIM_ACTION, Attack


class NoAttack(Attack):
    """Writes the victim's own team action back, so even with victim >= 0 nothing changes; evaluated victim-free."""

    targets_victims = False

    def __init__(self, label: str = "No attack") -> None:
        super().__init__(label)
        self.in_keys = [(AGENTS, "action"), "victim"]

    def act(self, observation: torch.Tensor, victim_mask: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
        """Unused: ``forward`` copies the team's own action, which ``act`` never sees."""
        raise TypeError("NoAttack has no policy of its own: it copies the team's action in forward().")

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        actions, victim = td.get((AGENTS, "action")), td.get("victim")  # [B, N], [B]
        rows = torch.arange(actions.shape[0], device=actions.device)
        td.set(VICTIM_ACTION, actions[rows, victim.clamp(min=0)])
        return td
