"""Severity (eq. 3) and the K severity bands on [Vmin^v, Vmax] that partition each victim's attacks (section 3.1).

With several victims (``game.victims > 1``) "victim" v is a victim set (``TypeSpace.sets``): ``n_agents`` is then
the number of sets, and Vmin^v the worst case against set v.

Band k (k = 1 mildest, next to Vmax) holds the attacks with severity eta in ((k-1)/K, k/K], i.e. the values
V(pi0, rho) in [low(v, k), high(v, k)) with low = Vmax - (k/K)(Vmax - Vmin^v), high = Vmax - ((k-1)/K)(Vmax - Vmin^v).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor


class Bands:
    """The band edges l_k, h_k of eq. 8 per victim, from Vmax, Vmin^v (scalar or one per victim) and K."""

    def __init__(self, vmax: float, vmin: float | Sequence[float], K: int, n_agents: int) -> None:
        if K < 1:
            raise ValueError(f"K must be >= 1 (the number of severity bands), got {K}.")
        if n_agents < 1:
            raise ValueError(f"n_agents must be >= 1, got {n_agents}.")
        vmins = [float(vmin)] * n_agents if isinstance(vmin, numbers.Real) else [float(x) for x in vmin]
        if len(vmins) != n_agents:
            raise ValueError(f"vmin must be a number or one number per victim (set) ({n_agents}), got {len(vmins)}.")
        if not math.isfinite(float(vmax)) or not all(math.isfinite(m) for m in vmins):
            raise ValueError(f"vmax and vmin must be finite, got vmax={vmax}, vmin={vmins}.")
        for v, m in enumerate(vmins):
            if not float(vmax) > m:
                raise ValueError(
                    f"eq. 3 needs Vmax > Vmin^v for every victim v; victim {v} has Vmax = {vmax} <= Vmin^{v} = {m}."
                )
        self.vmax = float(vmax)
        self.vmin = tuple(vmins)
        self.K = K
        self.n_agents = n_agents
        self._vmin = torch.tensor(vmins, dtype=torch.float64)  # [N]

    # -- edges ---------------------------------------------------------------------------------------
    def interval(self, victim: int, severity: int) -> tuple[float, float]:
        """(l, h) of band ``severity`` for ``victim`` as Python floats (the constraint of eq. 8)."""
        return float(self.low(victim, severity)), float(self.high(victim, severity))

    def low(self, victim: Tensor | int, severity: Tensor | int) -> Tensor:
        """l = Vmax - (k/K)(Vmax - Vmin^v), batched over long tensors ``victim`` and ``severity`` (k in 1..K)."""
        v, k = self._check(victim, severity)
        return (self.vmax - k / self.K * self._span(v)).to(torch.get_default_dtype())  # [..]

    def high(self, victim: Tensor | int, severity: Tensor | int) -> Tensor:
        """h = Vmax - ((k-1)/K)(Vmax - Vmin^v), batched like ``low``."""
        v, k = self._check(victim, severity)
        return (self.vmax - (k - 1) / self.K * self._span(v)).to(torch.get_default_dtype())  # [..]

    # -- severity ------------------------------------------------------------------------------------
    def severity(self, value: Tensor | float, victim: Tensor | int) -> Tensor:
        """Eq. 3: eta = (Vmax - V) / (Vmax - Vmin^v), not clipped: eta outside [0, 1] means V outside [Vmin^v, Vmax]."""
        x = self._as_value(value)
        v = self._check_victim(victim)
        return ((self.vmax - x.double()) / self._span(v)).to(x.dtype)  # [..]

    def band_of(self, value: Tensor | float, victim: Tensor | int) -> Tensor:
        """The band k with eta in ((k-1)/K, k/K], clamped to 1..K (eta <= 0 gives 1, eta > 1 gives K).

        Counted against the same edges ``low`` returns (in ``value``'s dtype), so ``band_of(low(v, k), v) == k``.
        """
        x = self._as_value(value)
        if not bool(torch.isfinite(x).all()):
            raise ValueError("band_of needs finite values (a NaN value has no band).")
        v = self._check_victim(victim)
        j = torch.arange(1, self.K, dtype=torch.float64)  # [K-1] inner edges l_1 .. l_{K-1}
        inner = (self.vmax - j / self.K * self._span(v).unsqueeze(-1)).to(x.dtype)  # [.., K-1]
        return 1 + (x.unsqueeze(-1) < inner).sum(-1)  # [..] long

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: Vmax, Vmin per victim, K, and ``bands[v][k-1] = [low, high]``."""
        bands = [[list(self.interval(v, k)) for k in range(1, self.K + 1)] for v in range(self.n_agents)]
        return {"vmax": self.vmax, "vmin": list(self.vmin), "K": self.K, "n_agents": self.n_agents, "bands": bands}

    def __repr__(self) -> str:
        return f"Bands(vmax={self.vmax}, vmin={list(self.vmin)}, K={self.K}, n_agents={self.n_agents})"

    # -- helpers -------------------------------------------------------------------------------------
    def _span(self, v: Tensor) -> Tensor:
        """Vmax - Vmin^v in float64."""
        return self.vmax - self._vmin[v]  # [..]

    def _check_victim(self, victim: Tensor | int) -> Tensor:
        v = torch.as_tensor(victim)
        if v.dtype.is_floating_point or v.dtype == torch.bool:
            raise ValueError(f"victim must hold integers, got dtype {v.dtype}.")
        if v.numel() and (int(v.min()) < 0 or int(v.max()) >= self.n_agents):
            raise ValueError(f"victim must lie in 0..{self.n_agents - 1}, got range [{int(v.min())}, {int(v.max())}].")
        return v.long()

    def _check(self, victim: Tensor | int, severity: Tensor | int) -> tuple[Tensor, Tensor]:
        k = torch.as_tensor(severity)
        if k.dtype.is_floating_point or k.dtype == torch.bool:
            raise ValueError(f"severity must hold integers, got dtype {k.dtype}.")
        if k.numel() and (int(k.min()) < 1 or int(k.max()) > self.K):
            raise ValueError(f"severity must lie in 1..K = 1..{self.K}, got range [{int(k.min())}, {int(k.max())}].")
        v, k = torch.broadcast_tensors(self._check_victim(victim), k.long())
        return v, k.double()

    @staticmethod
    def _as_value(value: Tensor | float) -> Tensor:
        x = torch.as_tensor(value)
        return x if x.dtype.is_floating_point else x.to(torch.get_default_dtype())
