"""Numeric guards: training that diverges stops at once, with an error that names what went non-finite and where."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Reduce = Callable[[torch.Tensor], torch.Tensor]


class DivergenceError(FloatingPointError):
    """A loss, gradient, parameter or normaliser statistic became non-finite: training has diverged."""


def _flag(bad: bool | torch.Tensor, reduce: Reduce | None) -> bool:
    """``bad`` on any rank (``reduce`` sums it over DDP ranks, so every rank raises together and none hangs)."""
    flag = torch.as_tensor(bad, dtype=torch.float32)
    return float(reduce(flag) if reduce is not None else flag) > 0


class NonFiniteGuard:
    """Checks each loss before its optimizer step, and the module's weights after each iteration."""

    def __init__(self, reduce: Reduce | None = None) -> None:
        self.reduce = reduce

    def check_loss(self, name: str, loss: torch.Tensor) -> None:
        if _flag(~torch.isfinite(loss.detach()).all(), self.reduce):
            raise DivergenceError(f"the loss {name} is non-finite ({float(loss.detach().float().sum())})")

    def check_kl(self, name: str, kl: torch.Tensor, limit: float) -> None:
        """An update that moved the policy by more than ``limit`` nats (approximate KL from the collecting policy;
        PPO's clip keeps it near 0.01) has diverged even where every number is finite: saturated logits."""
        if _flag(~(kl.detach().float().mean() <= limit), self.reduce):
            raise DivergenceError(f"{name} moved {float(kl.detach().float().mean()):.3g} nats in one update (KL > "
                                  f"ppo.max_kl={limit:g})")

    def check_module(self, module: nn.Module) -> None:
        """Every parameter, its last gradient and every floating buffer (PopArt statistics) is finite."""
        tensors = [(f"parameter {n}", p) for n, p in module.named_parameters()]
        tensors += [(f"gradient of {n}", p.grad) for n, p in module.named_parameters() if p.grad is not None]
        tensors += [(f"statistic {n}", b) for n, b in module.named_buffers() if b.is_floating_point()]
        finite = torch.stack([torch.isfinite(t.detach()).all() for _, t in tensors]) if tensors else None
        if finite is None or not _flag(~finite.all(), self.reduce):
            return
        first = next((name for (name, _), ok in zip(tensors, finite.tolist(), strict=True) if not ok), "a tensor")
        raise DivergenceError(f"{first} is non-finite")
