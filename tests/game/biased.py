"""Test helper: a policy network that deterministically picks one action (a large bias on one logit)."""

from __future__ import annotations

import torch


def biased(net: torch.nn.Module, action: int) -> torch.nn.Module:
    """``net`` with its last linear layer's weights zeroed and a bias of 50 on ``action`` (in place)."""
    last = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
        last.bias[action] = 50.0
    return net
