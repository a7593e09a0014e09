"""Per-type readouts of a collected batch: world-1 returns per severity. (V_hat(0) per type, eq. 13, is
``batpal.game.value_zero.value_zero_by_type``.)"""

from __future__ import annotations

import torch
from tensordict import TensorDictBase

from batpal.game import TypeSpace


@torch.no_grad()
def finished_by_type(batch: TensorDictBase, space: TypeSpace) -> dict[str, float]:
    """Mean return of the world-1 episodes that ended in ``batch``: ``return/no_attack`` and ``return/psi_k``."""
    done = batch["next", "done"].squeeze(-1) & (batch["world"] == 1)  # [B, T]
    returns = batch["next", "episode_reward"].squeeze(-1)[done]
    severity = batch["severity"][done]
    out: dict[str, float] = {}
    for k in range(space.K + 1):
        sel = returns[severity == k]
        if sel.numel():
            out["return/no_attack" if k == 0 else f"return/psi_{k}"] = float(sel.mean())
    return out
