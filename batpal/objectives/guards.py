"""Numeric guards: skip a minibatch whose loss is NaN/inf, and stop with a clear error if it keeps happening."""

from __future__ import annotations

from collections.abc import Callable

import torch


class NonFiniteLossError(FloatingPointError):
    """Raised after ``patience`` consecutive non-finite losses: training has diverged."""


class NonFiniteGuard:
    """Counts non-finite losses; a skipped minibatch changes no weights (no backward, no optimizer step)."""

    def __init__(self, patience: int = 10) -> None:
        self.patience = patience
        self.skipped = 0
        self._streak = 0

    def ok(self, *losses: torch.Tensor, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> bool:
        """True when every loss is finite on every rank (``reduce`` sums the flag over DDP ranks)."""
        bad = torch.stack([~torch.isfinite(loss.detach()).all() for loss in losses]).any().float()
        if reduce is not None:
            bad = reduce(bad)  # every rank must skip together, or DDP's all-reduce would hang
        if float(bad) == 0.0:
            self._streak = 0
            return True
        self.skipped += 1
        self._streak += 1
        if self._streak >= self.patience:
            raise NonFiniteLossError(
                f"{self._streak} consecutive minibatches gave a non-finite loss; lower the learning rate "
                "or check the rewards for NaN/inf."
            )
        return False
