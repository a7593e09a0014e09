"""Belief loss (section 4.2) against hand-computed CE / BCE, masking, accuracy, teacher forcing, and learning."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from tensordict import TensorDict

from batpal.nn.belief import BELIEF, BELIEF_LOGITS, make_belief
from batpal.objectives.belief import (
    belief_accuracy,
    belief_loss,
    mix_belief,
    predicted_type,
    teacher_forcing_prob,
)


def _factored(z: torch.Tensor, n: int, k: int) -> torch.Tensor:
    """Victim one-hot ++ severity one-hot [.., N + K]; zeros when benign (the test's own encoding)."""
    out = torch.cat([F.one_hot((z - 1).clamp(min=0) // k, n), F.one_hot((z - 1).clamp(min=0) % k, k)], -1)
    return torch.where((z > 0).unsqueeze(-1), out, 0).float()


def test_softmax_loss_is_the_cross_entropy_on_the_true_type():
    logits = torch.tensor([[[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]], [[2.0, -1.0, 1.0], [0.3, 0.2, 0.1]]])  # [B=2, N=2, 3]
    z = torch.tensor([2, 0])
    mask = torch.tensor([[True, True], [False, True]])

    def ce(row: list[float], target: int) -> float:
        return -(row[target] - math.log(sum(math.exp(v) for v in row)))

    rows = logits.tolist()
    by_hand = [ce(rows[0][0], 2), ce(rows[0][1], 2), ce(rows[1][0], 0), ce(rows[1][1], 0)]
    assert belief_loss(logits, z).item() == pytest.approx(sum(by_hand) / 4, rel=1e-6)
    assert belief_loss(logits, z, mask=mask).item() == pytest.approx((by_hand[0] + by_hand[1] + by_hand[3]) / 3)


def test_sigmoid_loss_is_the_bce_on_the_factored_target():
    n, k = 2, 2
    logits = torch.tensor([[[0.5, -1.0, 2.0, 0.0], [1.0, 1.0, -2.0, 0.3]]])  # [B=1, N=2, N + K]
    z = torch.tensor([4])  # victim 1, severity 2 -> target [0, 1, 0, 1]
    target = [0.0, 1.0, 0.0, 1.0]

    def bce(x: float, y: float) -> float:
        p = 1 / (1 + math.exp(-x))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    by_hand = sum(bce(x, y) for row in logits[0].tolist() for x, y in zip(row, target, strict=True)) / 8
    as_tensor = belief_loss(logits, z, "sigmoid", targets=torch.tensor([target]))
    as_function = belief_loss(logits, z, "sigmoid", targets=lambda t: _factored(t, n, k))
    assert as_tensor.item() == pytest.approx(by_hand, rel=1e-6)
    assert as_function.item() == pytest.approx(by_hand, rel=1e-6)
    with pytest.raises(ValueError, match="targets"):
        belief_loss(logits, z, "sigmoid")


@pytest.mark.parametrize("mode", ["softmax", "sigmoid"])
def test_empty_mask_gives_zero_and_finite_gradients(mode):
    logits = torch.full((3, 2, 5), -math.inf)  # infinite loss everywhere; all of it masked out
    logits[..., 0] = 0.0
    logits.requires_grad_(True)
    z = torch.tensor([1, 2, 3])
    targets = _factored(z, 2, 3) if mode == "sigmoid" else None
    loss = belief_loss(logits, z, mode, targets, mask=torch.zeros(3, 2, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(logits.grad).all()
    assert belief_accuracy(logits.detach().softmax(-1), z, mask=torch.zeros(3, 2, dtype=torch.bool)) == 0.0


def test_gradient_reaches_chi_only_and_the_policy_input_is_detached():
    torch.manual_seed(0)
    n, obs, a, k = 2, 4, 3, 2
    chi = make_belief(n, obs, a, 1 + n * k, hidden=8)
    policy = torch.nn.Linear(1 + n * k, a)
    td = TensorDict(
        {"agents": {"observation": torch.randn(5, n, obs), "prev_action": torch.zeros(5, n, a)}},
        batch_size=[5],
    ).set("is_init", torch.ones(5, 1, dtype=torch.bool))
    chi(td)
    z = torch.randint(0, 1 + n * k, (5,))
    mixed = mix_belief(td[BELIEF], F.one_hot(z, 1 + n * k), prob=0.5, generator=torch.Generator().manual_seed(0))
    (belief_loss(td[BELIEF_LOGITS], z) + 0 * policy(mixed).sum()).backward()
    assert all(p.grad is not None for p in chi.parameters())
    assert any(p.grad.abs().sum() > 0 for p in chi.parameters())
    assert all(p.grad is None or not p.grad.any() for p in policy.parameters())
    assert not mixed.requires_grad  # the policy's loss cannot train chi


def test_accuracy_in_both_modes():
    n, k = 2, 2
    z = torch.tensor([0, 3, 4])  # benign, (victim 1, sev 1), (victim 1, sev 2)
    probs = F.one_hot(torch.tensor([[0, 0], [3, 1], [4, 4]]), 1 + n * k).float()  # [B, N, |Z|]
    assert belief_accuracy(probs, z) == pytest.approx(5 / 6)
    factored = _factored(torch.tensor([[0, 0], [3, 1], [4, 4]]), n, k) * 0.8 + 0.1  # [B, N, N + K]
    factored[0] = 0.2  # benign: every output below 0.5
    assert predicted_type(factored, "sigmoid").tolist() == [[0, 0], [3, 1], [4, 4]]
    assert belief_accuracy(factored, z, "sigmoid") == pytest.approx(5 / 6)
    assert belief_accuracy(factored, z, "sigmoid", mask=torch.tensor([[True, True], [True, False], [True, True]])) == 1


def test_teacher_forcing_falls_linearly_then_stays_off():
    assert teacher_forcing_prob(0.0) == 1.0
    assert teacher_forcing_prob(0.25) == pytest.approx(0.5)
    assert teacher_forcing_prob(0.5) == 0.0
    assert teacher_forcing_prob(0.9) == 0.0
    assert teacher_forcing_prob(0.1, until=0.2) == pytest.approx(0.5)
    assert teacher_forcing_prob(0.3, until=0.0) == 0.0


def test_mix_belief_picks_one_source_per_env_and_step():
    belief = torch.rand(64, 10, 3, 7)  # [B, T, N, D]
    truth = F.one_hot(torch.randint(0, 7, (64, 10)), 7)  # [B, T, D]
    assert torch.equal(mix_belief(belief, truth, 0.0), belief)
    assert torch.equal(mix_belief(belief, truth, 1.0), truth.unsqueeze(-2).expand_as(belief).float())
    mixed = mix_belief(belief, truth, 0.3, torch.Generator().manual_seed(0))
    is_true = (mixed == truth.unsqueeze(-2)).all(-1)  # [B, T, N]
    assert (is_true == is_true[..., :1]).all()  # the same choice for every agent of an env-step
    assert 0.2 < is_true[..., 0].float().mean() < 0.4
    assert torch.equal(mixed, mix_belief(belief, truth, 0.3, torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("mode", ["softmax", "sigmoid"])
def test_chi_learns_a_type_that_the_observations_reveal(mode):
    """200 Adam steps on [B, T] sequences whose observations carry a noisy one-hot of the type."""
    torch.manual_seed(0)
    n, k, a, t = 2, 2, 3, 6
    n_types = 1 + n * k
    chi = make_belief(n, n_types + 2, a, n_types, mode=mode, hidden=32).sequence_module()
    optim = torch.optim.Adam(chi.parameters(), lr=1e-2)

    def batch(size: int) -> tuple[TensorDict, torch.Tensor]:
        z = torch.randint(0, n_types, (size,))
        signal = F.one_hot(z, n_types).float()[:, None, None].expand(size, t, n, n_types)
        obs = torch.cat([signal, torch.zeros(size, t, n, 2)], -1) + 0.5 * torch.randn(size, t, n, n_types + 2)
        is_init = torch.zeros(size, t, 1, dtype=torch.bool)
        is_init[:, 0] = True
        agents = {"observation": obs, "prev_action": torch.zeros(size, t, n, a)}
        return TensorDict({"agents": agents, "is_init": is_init}, batch_size=[size, t]), z[:, None].expand(size, t)

    def targets(z: torch.Tensor) -> torch.Tensor:
        return _factored(z, n, k)

    for _ in range(200):
        td, z = batch(32)
        loss = belief_loss(chi(td)[BELIEF_LOGITS], z, mode, targets)
        optim.zero_grad()
        loss.backward()
        optim.step()
    with torch.no_grad():
        td, z = batch(256)
        assert belief_accuracy(chi(td)[BELIEF], z, mode) > 0.9
