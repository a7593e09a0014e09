"""The divergence guard: a non-finite loss, parameter, gradient or statistic, or a runaway update, raises naming it."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchrl.modules import PopArtValueNorm

from batpal.objectives.guards import DivergenceError, NonFiniteGuard


def test_a_non_finite_loss_raises_naming_it():
    guard = NonFiniteGuard()
    guard.check_loss("critic", torch.tensor(1.0))
    for bad in (float("nan"), float("inf")):
        with pytest.raises(DivergenceError, match="the loss critic is non-finite"):
            guard.check_loss("critic", torch.tensor(bad))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda m: m.net.weight.data.__setitem__((0, 0), float("nan")), "parameter net.weight"),
        (lambda m: setattr(m.net.bias, "grad", torch.full_like(m.net.bias, float("inf"))), "gradient of net.bias"),
        (lambda m: m.norm.running_mean.fill_(float("nan")), "statistic norm.running_mean"),
    ],
)
def test_a_non_finite_weight_gradient_or_statistic_raises_naming_it(spoil, message):
    module = nn.Module()
    module.net, module.norm = nn.Linear(3, 2), PopArtValueNorm(shape=1)
    guard = NonFiniteGuard()
    guard.check_module(module)  # all finite: nothing raised
    spoil(module)
    with pytest.raises(DivergenceError, match=message):
        guard.check_module(module)


def test_a_runaway_update_raises_even_when_finite():
    guard = NonFiniteGuard()
    guard.check_kl("the actor", torch.tensor([0.01, 0.2]), limit=100.0)
    with pytest.raises(DivergenceError, match=r"the actor moved 4.45e\+05 nats"):
        guard.check_kl("the actor", torch.tensor(4.45e5), limit=100.0)
    with pytest.raises(DivergenceError, match="nan nats"):
        guard.check_kl("psi_1", torch.tensor(float("nan")), limit=100.0)


def test_every_rank_raises_when_one_rank_diverges():
    """``reduce`` sums the flag over DDP ranks: a rank with finite numbers raises too, so no rank hangs."""
    other_rank_bad = NonFiniteGuard(reduce=lambda flag: flag + 1.0)
    with pytest.raises(DivergenceError):
        other_rank_bad.check_loss("critic", torch.tensor(1.0))
