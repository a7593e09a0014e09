"""V_hat(0), the estimate of eq. 13: the team's value in world 0 (the reference policy pi0 against the adversary)
from the world-0 episodes of a batch, with the critic phi(0) bootstrapping episodes cut before they end.

Eq. 14 reads it per adversarial type (v, k) to pick its case and the barrier weight; the bands [l, h] it is
compared with live in ``batpal.game.bands``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from tensordict import TensorDictBase
from torch import Tensor

from batpal.game.types import TypeSpace


class ValueZeroEstimate(NamedTuple):
    """Eq. 13's V_hat(0): ``mean`` over the ``count`` world-0 episodes that start in the batch (NaN if none)."""

    mean: Tensor  # [] NaN when count == 0: callers must guard
    per_episode: Tensor  # [count] one discounted value per episode, ordered by end time then env
    count: int
    bootstrap: Tensor  # [count] the critic's part of each episode's value, gamma^{T_m} V_phi(0)(s_{T_m}) (or 0)


def _as_series(x: Tensor, name: str) -> Tensor:
    """[E, T] from [E, T] or TorchRL's [E, T, 1]."""
    if x.dim() == 3 and x.shape[-1] == 1:
        x = x.squeeze(-1)
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape [envs, time] (or [envs, time, 1]), got {list(x.shape)}.")
    return x.detach()


def value_zero_estimate(
    reward: Tensor,
    start: Tensor,
    done: Tensor,
    terminated: Tensor,
    next_value: Tensor,
    gamma: float,
) -> ValueZeroEstimate:
    """Eq. 13 on world-0 time series [E, T] that may hold several, and partial, episodes per env.

    Every episode m whose first step lies in the batch (``start``: TorchRL's ``is_init``, True at a reset and
    exactly on the step after each ``done``) contributes sum_t gamma^t r_t + gamma^{T_m} V_phi(0)(s_{T_m}):
    the bootstrap ``next_value`` (phi(0) of the step's NEXT state) is read at the episode's last step in the
    batch unless that step is ``terminated``, which adds 0. So an episode truncated by the time limit, even
    one ending exactly on the batch's last step (the authors' defect 1), and one cut by the batch end both
    bootstrap from the critic. Episodes already running at the batch's first step are left out (their start
    state is unseen). The factor gamma^{T_m}, missing in the paper's eq. 13, makes it the initial-state value.
    """
    reward, start, done = _as_series(reward, "reward"), _as_series(start, "start"), _as_series(done, "done")
    terminated, next_value = _as_series(terminated, "terminated"), _as_series(next_value, "next_value")
    if not reward.shape == start.shape == done.shape == terminated.shape == next_value.shape:
        raise ValueError("reward, start, done, terminated and next_value must share one [envs, time] shape.")
    if any(x.dtype != torch.bool for x in (start, done, terminated)):
        raise ValueError("start, done and terminated must be bool tensors.")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {gamma}.")
    if bool((terminated & ~done).any()):
        raise ValueError("terminated must imply done.")
    if bool((start[:, 1:] != done[:, :-1]).any()):
        raise ValueError("start must be True exactly on the step after a done (start[:, t] == done[:, t - 1]).")

    n_envs, horizon = reward.shape
    ret = reward.new_zeros(n_envs)  # [E] discounted return so far of the current episode
    disc = reward.new_ones(n_envs)  # [E] gamma^(steps so far)
    active = torch.zeros(n_envs, dtype=torch.bool, device=reward.device)  # [E] its start was seen
    values: list[Tensor] = []
    bootstraps: list[Tensor] = []
    for t in range(horizon):
        begin = start[:, t]  # [E]
        active = active | begin
        ret = torch.where(begin, 0.0, ret) + torch.where(begin, 1.0, disc) * reward[:, t]
        disc = torch.where(begin, 1.0, disc) * gamma  # gamma^{T_m} once the episode ends here
        closes = active & (done[:, t] | (t == horizon - 1))  # [E] its last step in the batch
        bootstrap = torch.where(closes & ~terminated[:, t], disc * next_value[:, t], 0.0)  # no NaN leaks
        values.append((ret + bootstrap)[closes])
        bootstraps.append(bootstrap[closes])
        active = active & ~done[:, t]
    per_episode = torch.cat(values)  # [M]
    count = int(per_episode.numel())
    mean = per_episode.mean() if count else reward.new_tensor(float("nan"))
    return ValueZeroEstimate(mean=mean, per_episode=per_episode, count=count, bootstrap=torch.cat(bootstraps))


def _episode_types(batch: TensorDictBase) -> Tensor:
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


class TypeValueZero(NamedTuple):
    """V_hat(0) of one type (v, k) in one batch, with what says how far to trust it."""

    mean: float
    se: float  # standard error over its episodes (NaN with one)
    count: int  # its world-0 episodes that start in the batch
    bootstrap_share: float  # mean |critic part| / mean |value|: how much of V_hat(0) is phi(0), not reward


@torch.no_grad()
def value_zero_stats(
    batch: TensorDictBase, next_value: Tensor, world0: Tensor, space: TypeSpace, gamma: float
) -> dict[tuple[int, int], TypeValueZero]:
    """Eq. 13 for each adversarial type (v, k) seen in the world-0 envs of ``batch`` [B, T]; absent -> no key."""
    envs = world0[:, 0]
    if not bool(envs.any()):
        return {}
    b = batch[envs]
    estimate = value_zero_estimate(
        b["next", "reward"], b["is_init"], b["next", "done"], b["next", "terminated"], next_value[envs], gamma
    )
    types = _episode_types(b)
    out: dict[tuple[int, int], TypeValueZero] = {}
    for z in types.unique().tolist():
        if z == 0:
            continue
        mine = types == z
        values, boot = estimate.per_episode[mine], estimate.bootstrap[mine]
        n = int(values.numel())
        se = float(values.std() / n**0.5) if n > 1 else float("nan")
        share = float(boot.abs().mean() / values.abs().mean().clamp_min(1e-12))
        out[(int(space.victim_of(z)), int(space.severity_of(z)))] = TypeValueZero(float(values.mean()), se, n, share)
    return out


def value_zero_by_type(
    batch: TensorDictBase, next_value: Tensor, world0: Tensor, space: TypeSpace, gamma: float
) -> dict[tuple[int, int], float]:
    """Eq. 13's V_hat(0) for each adversarial type (v, k) seen in the world-0 envs of ``batch``; absent -> no key."""
    return {key: stats.mean for key, stats in value_zero_stats(batch, next_value, world0, space, gamma).items()}
