"""Per-type readouts of a collected batch: V_hat(0) per (victim, severity) (eq. 13) and world-1 returns."""

from __future__ import annotations

import torch
from tensordict import TensorDictBase

from batpal.game import TypeSpace
from batpal.objectives.ec_ppo import value_zero_estimate


def _episode_types(batch: TensorDictBase) -> torch.Tensor:
    """Type of each episode in the order ``value_zero_estimate`` lists them (by end step, then env)."""
    start = batch["is_init"].squeeze(-1)
    done = batch["next", "done"].squeeze(-1)
    z = batch["type"]
    active = torch.zeros(z.shape[0], dtype=torch.bool, device=z.device)
    types = []
    for t in range(z.shape[1]):
        active = active | start[:, t]
        closes = active & (done[:, t] | (t == z.shape[1] - 1))
        types.append(z[:, t][closes])
        active = active & ~done[:, t]
    return torch.cat(types)


@torch.no_grad()
def value_zero_by_type(
    batch: TensorDictBase, next_value: torch.Tensor, world0: torch.Tensor, space: TypeSpace, gamma: float
) -> dict[tuple[int, int], float]:
    """Eq. 13 for each adversarial type (v, k) seen in the world-0 envs of ``batch`` [B, T]; absent -> no key."""
    envs = world0[:, 0]
    if not bool(envs.any()):
        return {}
    b = batch[envs]
    estimate = value_zero_estimate(
        b["next", "reward"], b["is_init"], b["next", "done"], b["next", "terminated"], next_value[envs], gamma
    )
    types = _episode_types(b)
    out: dict[tuple[int, int], float] = {}
    for z in types.unique().tolist():
        if z == 0:
            continue
        values = estimate.per_episode[types == z]
        out[(int(space.victim_of(z)), int(space.severity_of(z)))] = float(values.mean())
    return out


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
