"""The optimizer every stage uses: Adam with PyTorch's fused kernel.

Why fused: one kernel updates every tensor of a network, about 4x faster per step than the default per-tensor
loop on CPU for our 128-wide MLPs; BATPAL takes ~30 optimizer steps per iteration (omega, critics, belief, K psi_k).
The update rule is Adam's, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def adam(params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Adam:
    """``torch.optim.Adam(params, lr, fused=True)``."""
    return torch.optim.Adam(list(params), lr=lr, fused=True)
