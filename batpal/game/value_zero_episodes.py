"""V_hat(0) from finished episodes only: each world-0 episode's discounted return summed across batches until it
ends, with no critic in it (``game.v0_estimate=episodes``).

Eq. 13 as ``batpal.game.value_zero`` computes it reads each episode that starts in a batch and bootstraps the
part cut off by the batch's end from phi(0). On LBF, with 25-step rollouts and 50-step episodes, phi(0) made up
60-75% of V_hat(0), and psi_1's estimate sat about 0.27 of a severity below what evaluation measured (issue 14).
Here an episode counts in the batch where it ends; every episode ends once, and which batch it ends in does not
depend on its own return, so the mean over a run is the mean over its episodes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from batpal.game.types import TypeSpace
from batpal.game.value_zero import TypeValueZero, _as_series


class EpisodeCarry(NamedTuple):
    """Per env [E]: discounted return so far of its running episode, gamma^(its steps so far), and whether its
    first step was seen (an episode running before the run started, or before a resume without the carry, is
    left out rather than counted short)."""

    ret: Tensor
    disc: Tensor
    seen: Tensor

    @classmethod
    def fresh(cls, n_envs: int, device: torch.device | str = "cpu") -> EpisodeCarry:
        return cls(torch.zeros(n_envs, device=device), torch.ones(n_envs, device=device),
                   torch.zeros(n_envs, dtype=torch.bool, device=device))


def finished_returns(reward: Tensor, start: Tensor, done: Tensor, carry: EpisodeCarry,
                     gamma: float) -> tuple[Tensor, Tensor, EpisodeCarry]:
    """The discounted return of every episode that ends in the batch [E, T] and whose first step was seen (in
    this batch or an earlier one, through ``carry``): ``(values [M], mask [E, T] True at their last steps, the
    carry for the next batch)``, values ordered by time then env, as ``mask.T.nonzero()`` lists them."""
    reward, start, done = _as_series(reward, "reward"), _as_series(start, "start"), _as_series(done, "done")
    if not reward.shape == start.shape == done.shape:
        raise ValueError("reward, start and done must share one [envs, time] shape.")
    if carry.ret.shape[0] != reward.shape[0]:
        raise ValueError(f"the carry holds {carry.ret.shape[0]} envs, the batch {reward.shape[0]}.")
    ret, disc, seen = carry.ret.to(reward.dtype), carry.disc.to(reward.dtype), carry.seen.clone()
    values, ends = [], torch.zeros_like(done)
    for t in range(reward.shape[1]):
        begin = start[:, t]
        ret, disc = torch.where(begin, 0.0, ret), torch.where(begin, 1.0, disc)
        seen = seen | begin
        ret = ret + disc * reward[:, t]
        disc = disc * gamma
        closes = seen & done[:, t]
        values.append(ret[closes])
        ends[:, t] = closes
        seen = seen & ~done[:, t]
    return torch.cat(values), ends, EpisodeCarry(ret, disc, seen)


def finished_value_zero(values: Tensor, ends: Tensor, types: Tensor, space: TypeSpace) -> dict[tuple[int, int],
                                                                                            TypeValueZero]:
    """V_hat(0) per adversarial type (v, k) from ``finished_returns``' output and the type of each step [E, T]."""
    z = types[ends.T.nonzero(as_tuple=True)[::-1]]  # the same order as values: time, then env
    out: dict[tuple[int, int], TypeValueZero] = {}
    for zz in z.unique().tolist():
        if zz == 0:
            continue
        mine = values[z == zz]
        n = int(mine.numel())
        se = float(mine.std() / n**0.5) if n > 1 else float("nan")
        out[(int(space.victim_of(zz)), int(space.severity_of(zz)))] = TypeValueZero(float(mine.mean()), se, n, 0.0)
    return out
