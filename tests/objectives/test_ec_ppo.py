"""EC-PPO (eq. 12-14) and V_hat(0) (eq. 13) against hand-computed values, gradients and update directions."""

from __future__ import annotations

import math

import pytest
import torch

from batpal.objectives.ec_ppo import barrier_weight, ec_ppo_loss, inside_band, value_zero_estimate

LOW, HIGH, LAM, ZETA, EPS = -70.0, -50.0, 0.2, 1.0, 0.2
D, A = 5, 4


# -- eq. 13 ----------------------------------------------------------------------------------------
def _series(*rows: list) -> torch.Tensor:
    return torch.tensor(rows)


def test_v0_bootstraps_a_time_limit_at_the_batch_end():
    g = 0.9
    reward = _series([1.0, 2.0, 3.0, 4.0])
    start = _series([True, False, True, False])
    done = _series([False, True, False, True])  # two 2-step episodes, both truncated; the batch ends on one
    terminated = torch.zeros_like(done)
    next_value = _series([0.0, 10.0, 0.0, 12.0])
    est = value_zero_estimate(reward, start, done, terminated, next_value, g)
    first = 1 + g * 2 + g**2 * 10
    second = 3 + g * 4 + g**2 * 12  # gamma^T V(s_T), not 0 (the authors' defect 1)
    assert est.count == 2
    torch.testing.assert_close(est.per_episode, torch.tensor([first, second]))
    torch.testing.assert_close(est.mean, torch.tensor((first + second) / 2))


def test_v0_terminated_episode_adds_no_bootstrap():
    reward = _series([1.0, 2.0, 3.0, 4.0])
    start = _series([True, False, True, False])
    done = _series([False, True, False, True])
    terminated = _series([False, True, False, True])
    next_value = _series([0.0, float("nan"), 0.0, float("inf")])  # never read: no NaN/inf may leak
    est = value_zero_estimate(reward, start, done, terminated, next_value, 0.5)
    torch.testing.assert_close(est.per_episode, torch.tensor([1 + 0.5 * 2, 3 + 0.5 * 4]))


def test_v0_episode_cut_by_the_batch_end_bootstraps():
    g = 0.9
    reward = _series([1.0, 2.0, 3.0, 4.0, 5.0])
    start = _series([True, False, True, False, False])
    done = _series([False, True, False, False, False])
    next_value = _series([0.0, 10.0, 0.0, 0.0, 7.0])
    est = value_zero_estimate(reward, start, done, torch.zeros_like(done), next_value, g)
    torch.testing.assert_close(est.per_episode[1], torch.tensor(3 + g * 4 + g**2 * 5 + g**3 * 7))


def test_v0_excludes_episodes_started_before_the_batch():
    reward = _series([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0])
    start = _series([False, False, True, False], [True, False, False, False])
    done = _series([False, True, False, True], [False, False, False, True])
    terminated = done.clone()
    est = value_zero_estimate(reward, start, done, terminated, torch.zeros(2, 4), 1.0)
    assert est.count == 2
    assert sorted(est.per_episode.tolist()) == [7.0, 26.0]


def test_v0_without_a_start_is_nan_with_count_zero():
    done = _series([False, True, False])
    start = _series([False, False, True])
    est = value_zero_estimate(torch.ones(1, 3), start, done, done.clone(), torch.zeros(1, 3), 0.9)
    assert est.count == 1  # the episode starting at t = 2 counts
    none = torch.zeros(1, 3, dtype=torch.bool)
    est = value_zero_estimate(torch.ones(1, 3), none, none, none, torch.zeros(1, 3), 0.9)
    assert est.count == 0 and est.per_episode.numel() == 0 and math.isnan(float(est.mean))


def _reference(reward, start, done, terminated, next_value, gamma) -> list[float]:
    """Eq. 13 with Python loops over envs and steps."""
    out = []
    for e in range(reward.shape[0]):
        t = 0
        while t < reward.shape[1]:
            if not start[e, t]:
                t += 1
                continue
            total, length = 0.0, 0
            while True:
                total += gamma**length * float(reward[e, t])
                length += 1
                if done[e, t] or t == reward.shape[1] - 1:
                    if not terminated[e, t]:
                        total += gamma**length * float(next_value[e, t])
                    break
                t += 1
            out.append(total)
            t += 1
    return out


def test_v0_matches_a_loop_reference_on_random_batches():
    g = torch.Generator().manual_seed(3)
    E, T = 6, 40
    done = torch.rand(E, T, generator=g) < 0.15
    terminated = done & (torch.rand(E, T, generator=g) < 0.5)
    start = torch.cat([torch.rand(E, 1, generator=g) < 0.5, done[:, :-1]], dim=1)
    reward = torch.randn(E, T, 1, generator=g, dtype=torch.float64)  # TorchRL's trailing 1 is accepted
    next_value = torch.randn(E, T, 1, generator=g, dtype=torch.float64)
    est = value_zero_estimate(reward, start[..., None], done[..., None], terminated[..., None], next_value, 0.97)
    ref = _reference(reward[..., 0], start, done, terminated, next_value[..., 0], 0.97)
    assert est.count == len(ref) > 5
    torch.testing.assert_close(sorted(est.per_episode.tolist()), sorted(ref))


def test_v0_rejects_inconsistent_flags():
    ones = torch.ones(1, 3)
    done = _series([False, True, False])
    with pytest.raises(ValueError, match="step after a done"):
        value_zero_estimate(ones, _series([True, False, False]), done, torch.zeros_like(done), ones, 0.9)
    with pytest.raises(ValueError, match="terminated must imply done"):
        value_zero_estimate(ones, _series([True, False, True]), done, _series([True, True, False]), ones, 0.9)


# -- barrier ---------------------------------------------------------------------------------------
def test_barrier_weight_by_hand():
    w = barrier_weight(-55.0, LOW, HIGH, LAM)
    torch.testing.assert_close(w, torch.tensor(0.2 * (1 / 15 - 1 / 5)))
    assert float(barrier_weight(-60.0, LOW, HIGH, LAM)) == 0.0  # the centre: both barriers balance
    v0 = torch.tensor([-70.0, -50.0, -80.0, -40.0, float("nan"), -69.9])
    w = barrier_weight(v0, LOW, HIGH, LAM)
    assert torch.isfinite(w).all()
    assert w[:5].tolist() == [0.0] * 5  # edges, outside and NaN
    assert float(w[5]) > 0  # near l: positive, pushes V(0) up


def test_inside_band_zeta():
    v0 = torch.tensor([-70.0, -69.5, -69.0, -60.0, -51.0, -50.5, float("nan")])
    assert inside_band(v0, LOW, HIGH, ZETA).tolist() == [False, False, True, True, True, False, False]


# -- eq. 14: values and gradients ------------------------------------------------------------------
def _logp(weight: torch.Tensor, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(x @ weight.T, dim=-1).gather(-1, a[:, None]).squeeze(-1)  # [M]


def _entropy(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    logp = torch.log_softmax(x @ weight.T, dim=-1)  # [M, A]
    return -(logp.exp() * logp).sum(-1)  # [M]


def _toy(m1: int = 32, m0: int = 24, seed: int = 0):
    """A linear softmax policy and world-1 / world-0 victim steps (old log-probs perturbed so some clip)."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(A, D, generator=g).requires_grad_()
    x1, x0 = torch.randn(m1, D, generator=g), torch.randn(m0, D, generator=g)
    a1, a0 = torch.randint(A, (m1,), generator=g), torch.randint(A, (m0,), generator=g)
    old1 = _logp(weight, x1, a1).detach() + 0.3 * torch.randn(m1, generator=g)
    adv1, adv0 = torch.randn(m1, generator=g), torch.randn(m0, generator=g)
    return weight, x1, a1, old1, adv1, x0, a0, adv0


def _grad(loss: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return torch.autograd.grad(loss, weight)[0]


def _run(toy: tuple, v0: float | torch.Tensor, entropy_coeff: float = 0.0):
    """EC-PPO on ``_toy``'s data with log-probs and entropy recomputed by the current policy."""
    weight, x1, a1, old1, adv1, x0, a0, adv0 = toy
    new1, new0, ent = _logp(weight, x1, a1), _logp(weight, x0, a0), _entropy(weight, x1)
    band = {"low": LOW, "high": HIGH, "lam": LAM, "zeta": ZETA, "clip_epsilon": EPS}
    return ec_ppo_loss(new1, old1, adv1, new0, adv0, v0_hat=v0, entropy=ent, entropy_coeff=entropy_coeff, **band)


def test_inside_loss_and_gradient_match_eq14_by_hand():
    toy = _toy()
    weight, x1, a1, old1, adv1, x0, a0, adv0 = toy
    v0 = -55.0
    out = _run(toy, v0, entropy_coeff=0.01)
    r = torch.exp(_logp(weight, x1, a1) - old1)
    ppo = torch.mean(torch.maximum(adv1 * r, adv1 * torch.clamp(r, 1 - EPS, 1 + EPS)))
    w = LAM * (1 / (v0 - LOW) - 1 / (HIGH - v0))
    hand = ppo - w * torch.mean(_logp(weight, x0, a0) * adv0) - 0.01 * _entropy(weight, x1).mean()
    assert out.inside and out.v0_valid and out.barrier_weight == pytest.approx(w)
    assert 0 < out.clip_fraction < 1 and out.approx_kl > 0
    torch.testing.assert_close(out.loss, hand)
    torch.testing.assert_close(_grad(out.loss, weight), _grad(hand, weight))


def test_inside_gradient_at_ratio_one_is_eq12():
    weight, x1, a1, _, adv1, x0, a0, adv0 = _toy()
    old1 = _logp(weight, x1, a1).detach()  # first epoch: r = 1, nothing clipped
    v0 = -68.0
    out = _run((weight, x1, a1, old1, adv1, x0, a0, adv0), v0)
    grad_v1 = _grad(torch.mean(_logp(weight, x1, a1) * adv1), weight)  # grad_(1) of eq. 12
    grad_v0 = _grad(torch.mean(_logp(weight, x0, a0) * adv0), weight)  # grad_(0) of eq. 12
    w = LAM * (1 / (v0 - LOW) - 1 / (HIGH - v0))
    torch.testing.assert_close(_grad(out.loss, weight), grad_v1 - w * grad_v0)
    assert out.clip_fraction == 0.0


@pytest.mark.parametrize(("v0", "sign"), [(-45.0, 1.0), (-80.0, -1.0), (-69.5, -1.0), (-50.2, 1.0)])
def test_outside_is_the_sign_step(v0, sign):
    toy = _toy()
    weight, x0, a0, adv0 = toy[0], toy[5], toy[6], toy[7]
    out = _run(toy, v0, entropy_coeff=0.01)  # no PPO and no entropy term outside
    hand = sign * torch.mean(_logp(weight, x0, a0) * adv0)
    assert not out.inside and out.barrier_weight == 0.0
    torch.testing.assert_close(out.loss, hand)
    torch.testing.assert_close(_grad(out.loss, weight), _grad(hand, weight))


def test_zeta_guard_switches_branches():
    toy = _toy()

    def run(v0: float):
        return _run(toy, v0)

    assert not run(LOW + ZETA / 2).inside  # inside [l, h] but within zeta of l: sign step
    at_edge = run(LOW + ZETA)
    assert at_edge.inside and at_edge.barrier_weight == pytest.approx(LAM * (1 / ZETA - 1 / (HIGH - LOW - ZETA)))
    assert run(HIGH - ZETA).inside and not run(HIGH - ZETA / 2).inside


# -- eq. 14: update directions on a bandit ---------------------------------------------------------
REWARD_0 = torch.tensor([0.0, -5.0, -10.0])  # world-0 team reward per adversary action
REWARD_1 = torch.tensor([10.0, 0.0, -3.0])  # world-1 team reward per adversary action


def _bandit_step(v0_hat: float, world: int, lr: float = 0.5) -> tuple[float, float]:
    """One SGD step of EC-PPO on a 3-armed bandit; returns the exact team value in ``world`` before and after."""
    psi = torch.zeros(3, requires_grad=True)
    reward = REWARD_1 if world == 1 else REWARD_0
    value = float(torch.softmax(psi.detach(), 0) @ reward)
    actions = torch.multinomial(torch.softmax(psi, 0).detach(), 6000, True, generator=torch.Generator().manual_seed(0))
    logp = torch.log_softmax(psi, 0)[actions]  # [M]
    adv = reward[actions] - value  # exact critic
    empty = logp[:0]
    if world == 1:
        args = (logp, logp.detach(), adv, empty, empty.detach())
    else:
        args = (empty, empty.detach(), empty.detach(), logp, adv)
    out = ec_ppo_loss(*args, v0_hat=v0_hat, low=LOW, high=HIGH, lam=LAM, zeta=ZETA, clip_epsilon=EPS)
    out.loss.backward()
    with torch.no_grad():
        psi -= lr * psi.grad
    return value, float(torch.softmax(psi.detach(), 0) @ reward)


def test_descent_lowers_the_team_value_in_world_1():
    before, after = _bandit_step(v0_hat=0.5 * (LOW + HIGH), world=1)  # centre: barrier weight 0
    assert after < before - 0.1


@pytest.mark.parametrize(
    ("v0_hat", "direction"),
    [
        (LOW + 1.5, +1),  # inside near l (too severe): the barrier raises V(0)
        (HIGH - 1.5, -1),  # inside near h (too mild): the barrier lowers V(0)
        (-80.0, +1),  # below l: the sign step raises V(0)
        (-40.0, -1),  # above h: the sign step lowers V(0)
    ],
)
def test_descent_moves_v0_toward_the_band(v0_hat, direction):
    before, after = _bandit_step(v0_hat=v0_hat, world=0)
    assert direction * (after - before) > 1e-3


# -- guards ----------------------------------------------------------------------------------------
def test_empty_minibatches_give_a_finite_zero_loss():
    weight = torch.randn(A, D, requires_grad=True)
    x, a, adv = torch.zeros(0, D), torch.zeros(0, dtype=torch.long), torch.zeros(0)
    old = _logp(weight, x, a).detach()  # [0]
    for v0 in (-60.0, -40.0, float("nan")):
        out = _run((weight, x, a, old, adv, x, a, adv), v0, entropy_coeff=0.01)
        assert float(out.loss.detach()) == 0.0 and out.clip_fraction == 0.0 and out.approx_kl == 0.0
        assert torch.equal(_grad(out.loss, weight), torch.zeros(A, D))


def test_nan_v0_uses_only_the_world1_terms():
    toy = _toy()
    weight, x1, a1, old1, adv1 = toy[:5]
    out = _run(toy, torch.tensor(float("nan")), entropy_coeff=0.01)
    r = torch.exp(_logp(weight, x1, a1) - old1)
    hand = torch.mean(torch.maximum(adv1 * r, adv1 * torch.clamp(r, 1 - EPS, 1 + EPS)))
    hand = hand - 0.01 * _entropy(weight, x1).mean()
    assert not out.v0_valid and not out.inside and out.barrier_weight == 0.0
    torch.testing.assert_close(out.loss, hand)


def test_bad_arguments():
    z = torch.zeros(3)
    common = {"v0_hat": -60.0, "lam": LAM, "zeta": ZETA, "clip_epsilon": EPS}
    with pytest.raises(ValueError, match="1-D of one length"):
        ec_ppo_loss(z, torch.zeros(2), z, z, z, low=LOW, high=HIGH, **common)
    with pytest.raises(ValueError, match="low < high"):
        ec_ppo_loss(z, z, z, z, z, low=HIGH, high=LOW, **common)
