"""EC-PPO (eq. 12, 14) against hand-computed values, gradients, update directions and diagnostics.

``ec_ppo`` is the one implementation (per victim group, mean over groups); ``ec_ppo_loss`` is it with one group.
"""

from __future__ import annotations

import math

import pytest
import torch

from batpal.objectives.ec_ppo import ec_ppo, ec_ppo_loss

LOW, HIGH, LAM, ZETA, EPS = -70.0, -50.0, 0.2, 1.0, 0.2
D, A = 5, 4
CASES = ("case_barrier", "case_below", "case_above", "case_no_v0")


def _diag(out) -> dict[str, float]:
    assert all(not v.requires_grad and v.dim() == 0 for v in out.diagnostics.values())
    return {name: float(v) for name, v in out.diagnostics.items()}


def _case(out) -> str:
    """The one case of eq. 14 a single group took (its share is 1, the others 0)."""
    d = _diag(out)
    taken = [c for c in CASES if d[c] == 1.0]
    assert len(taken) == 1 and all(d[c] == 0.0 for c in CASES if c not in taken), d
    return taken[0]


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


def _run(toy: tuple, v0: float | torch.Tensor, entropy_coeff: float = 0.0, zeta: float = ZETA):
    """EC-PPO on ``_toy``'s data with log-probs and entropy recomputed by the current policy."""
    weight, x1, a1, old1, adv1, x0, a0, adv0 = toy
    new1, new0, ent = _logp(weight, x1, a1), _logp(weight, x0, a0), _entropy(weight, x1)
    band = {"low": LOW, "high": HIGH, "lam": LAM, "zeta": zeta, "clip_epsilon": EPS}
    return ec_ppo_loss(new1, old1, adv1, new0, adv0, v0_hat=v0, entropy=ent, entropy_coeff=entropy_coeff, **band)


def _ppo_1(toy: tuple) -> torch.Tensor:
    weight, x1, a1, old1, adv1 = toy[:5]
    r = torch.exp(_logp(weight, x1, a1) - old1)
    return torch.mean(torch.maximum(adv1 * r, adv1 * torch.clamp(r, 1 - EPS, 1 + EPS)))


def test_inside_loss_and_gradient_match_eq14_by_hand():
    toy = _toy()
    weight, x1, a1, old1, adv1, x0, a0, adv0 = toy
    v0 = -55.0
    out = _run(toy, v0, entropy_coeff=0.01)
    w = LAM * (1 / (v0 - LOW) - 1 / (HIGH - v0))
    hand = _ppo_1(toy) - w * torch.mean(_logp(weight, x0, a0) * adv0) - 0.01 * _entropy(weight, x1).mean()
    d = _diag(out)
    assert _case(out) == "case_barrier" and d["barrier_weight"] == pytest.approx(w)
    assert 0 < d["clip_fraction"] < 1 and d["approx_kl"] > 0
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
    assert _diag(out)["clip_fraction"] == 0.0


@pytest.mark.parametrize(
    ("v0", "sign", "case"),
    [(-45.0, 1.0, "case_above"), (-80.0, -1.0, "case_below"), (-69.5, -1.0, "case_below"), (-50.2, 1.0, "case_above")],
)
def test_outside_is_the_sign_step(v0, sign, case):
    toy = _toy()
    weight, x0, a0, adv0 = toy[0], toy[5], toy[6], toy[7]
    out = _run(toy, v0, entropy_coeff=0.01)  # no PPO and no entropy term outside
    hand = sign * torch.mean(_logp(weight, x0, a0) * adv0)  # the paper's sign(.) grad_hat(0)
    assert _case(out) == case and _diag(out)["barrier_weight"] == 0.0
    torch.testing.assert_close(out.loss, sign * adv0.mean())  # the ratio surrogate at r = 1
    torch.testing.assert_close(_grad(out.loss, weight), _grad(hand, weight))


@pytest.mark.parametrize("v0", [-80.0, -45.0])
def test_sign_entropy_keeps_the_entropy_bonus_in_the_sign_step(v0):
    """``sign_entropy``: the sign step's loss less c * mean entropy over the world-0 rows it reads, with that
    bonus's gradient; off (the paper), the entropy rows change nothing there."""
    weight, x1, a1, old1, adv1, x0, a0, adv0 = _toy()
    logp = torch.cat([_logp(weight, x1, a1), _logp(weight, x0, a0)])
    old = torch.cat([old1, _logp(weight, x0, a0).detach()])
    entropy = torch.cat([_entropy(weight, x1), _entropy(weight, x0)])
    world1 = torch.cat([torch.ones(len(x1), dtype=torch.bool), torch.zeros(len(x0), dtype=torch.bool)])
    band = {"v0_hat": torch.tensor([v0]), "low": torch.tensor([LOW]), "high": torch.tensor([HIGH]), "lam": LAM,
            "zeta": ZETA, "clip_epsilon": EPS, "entropy": entropy, "entropy_coeff": 0.05}
    rows = (logp, old, torch.cat([adv1, adv0]), world1, torch.zeros(len(logp), dtype=torch.long))
    paper, kept = ec_ppo(*rows, **band), ec_ppo(*rows, **band, sign_entropy=True)
    assert _case(paper) == _case(kept) != "case_barrier"
    bonus = 0.05 * _entropy(weight, x0).mean()  # world-0 rows only
    torch.testing.assert_close(kept.loss, paper.loss - bonus)
    g_kept, g_paper, g_bonus = (torch.autograd.grad(x, weight, retain_graph=True)[0] for x in (kept.loss, paper.loss,
                                                                                                bonus))
    torch.testing.assert_close(g_kept, g_paper - g_bonus)
    assert g_bonus.abs().sum() > 0  # the bonus moves psi


def test_sign_entropy_leaves_the_barrier_case_as_it_is():
    """Inside the band the entropy bonus is eq. 14's first case's own (world-1 rows), with or without the flag."""
    toy = _toy()
    weight, x1, a1, old1, adv1, x0, a0, adv0 = toy
    new1, new0, ent = _logp(weight, x1, a1), _logp(weight, x0, a0), _entropy(weight, x1)
    logp, world1 = torch.cat([new1, new0]), torch.cat([torch.ones(len(x1), dtype=torch.bool),
                                                       torch.zeros(len(x0), dtype=torch.bool)])
    args = (logp, torch.cat([old1, new0.detach()]), torch.cat([adv1, adv0]), world1,
            torch.zeros(len(logp), dtype=torch.long))
    band = {"v0_hat": torch.tensor([-60.0]), "low": torch.tensor([LOW]), "high": torch.tensor([HIGH]), "lam": LAM,
            "zeta": ZETA, "clip_epsilon": EPS, "entropy": torch.cat([ent, _entropy(weight, x0)]),
            "entropy_coeff": 0.05}
    off, on = ec_ppo(*args, **band), ec_ppo(*args, **band, sign_entropy=True)
    assert _case(on) == "case_barrier"
    torch.testing.assert_close(on.loss, off.loss)


def _both_worlds(logp1, old1, adv1, logp0, old0, adv0, clip_epsilon, entropy=None):
    """``ec_ppo`` on world-1 rows then world-0 rows of one group, V_hat(0) = -80 in the toy band."""
    logp = torch.cat([logp1, logp0])
    world1 = torch.cat([torch.ones(logp1.shape[0], dtype=torch.bool), torch.zeros(logp0.shape[0], dtype=torch.bool)])
    return ec_ppo(
        logp,
        torch.cat([old1, old0]),
        torch.cat([adv1, adv0]),
        world1,
        torch.zeros_like(world1, dtype=torch.long),
        v0_hat=torch.tensor([-80.0]),
        low=torch.tensor([LOW]),
        high=torch.tensor([HIGH]),
        lam=LAM,
        zeta=ZETA,
        clip_epsilon=clip_epsilon,
        entropy=torch.zeros_like(logp) if entropy is None else entropy,
        entropy_coeff=0.0,
    )


def test_the_sign_step_is_clipped_once_psi_has_moved():
    """World-0 rows whose ratio already left [1 - eps, 1 + eps] in the direction the sign step favours add no
    gradient (PPO's clip), the others the paper's sign(.) grad log-prob A; with clip_epsilon = inf (EC-PG) none is
    clipped."""
    weight, x1, a1, old1, adv1, x0, a0, adv0 = _toy()
    sign = -1.0  # V0 below the band's centre: raise V(0)
    moved = torch.where(adv0 > 0, -0.5, 0.0)  # rows with A > 0 already made 1.65x likelier: past 1 + eps

    def step(clip_epsilon: float):
        new0 = _logp(weight, x0, a0)
        return _both_worlds(_logp(weight, x1, a1), old1, adv1, new0, new0.detach() + moved, adv0, clip_epsilon)

    out = step(EPS)
    assert _case(out) == "case_below"
    free = adv0 <= 0
    hand = sign * torch.sum(torch.where(free, _logp(weight, x0, a0) * adv0 * torch.exp(-moved), 0.0)) / adv0.numel()
    torch.testing.assert_close(_grad(out.loss, weight), _grad(hand, weight))
    hand_pg = sign * torch.mean(_logp(weight, x0, a0) * adv0 * torch.exp(-moved))
    torch.testing.assert_close(_grad(step(math.inf).loss, weight), _grad(hand_pg, weight))


def test_zeta_guard_switches_branches():
    toy = _toy()

    def case(v0: float) -> str:
        return _case(_run(toy, v0))

    assert case(LOW + ZETA / 2) == "case_below"  # inside [l, h] but within zeta of l: sign step
    at_edge = _run(toy, LOW + ZETA)
    assert _case(at_edge) == "case_barrier"
    assert _diag(at_edge)["barrier_weight"] == pytest.approx(LAM * (1 / ZETA - 1 / (HIGH - LOW - ZETA)))
    assert case(HIGH - ZETA) == "case_barrier" and case(HIGH - ZETA / 2) == "case_above"


def test_inside_band_zeta():
    toy = _toy()
    v0 = [-70.0, -69.5, -69.0, -60.0, -51.0, -50.5, float("nan")]
    cases = [_case(_run(toy, v)) for v in v0]
    assert cases == ["case_below", "case_below", "case_barrier", "case_barrier", "case_barrier", "case_above"] + [
        "case_no_v0"
    ]


# -- the barrier weight w --------------------------------------------------------------------------
def test_barrier_weight_by_hand():
    toy = _toy()
    assert _diag(_run(toy, -55.0))["barrier_weight"] == pytest.approx(0.2 * (1 / 15 - 1 / 5))
    at_centre = _run(toy, -60.0)
    assert _case(at_centre) == "case_barrier" and _diag(at_centre)["barrier_weight"] == 0.0  # both barriers balance
    near_low = _diag(_run(toy, -69.9, zeta=0.0))["barrier_weight"]
    assert near_low == pytest.approx(0.2 * (1 / 0.1 - 1 / 19.9), rel=1e-4) and near_low > 0  # pushes V(0) up


@pytest.mark.parametrize("v0", [LOW, HIGH])
def test_barrier_weight_at_the_band_edges_is_zero_not_inf(v0):
    """With zeta = 0 an edge of [l, h] is eq. 14's first case, where the paper's w is infinite: w is 0 instead."""
    toy = _toy()
    out = _run(toy, v0, entropy_coeff=0.01, zeta=0.0)
    assert _case(out) == "case_barrier" and _diag(out)["barrier_weight"] == 0.0
    hand = _ppo_1(toy) - 0.01 * _entropy(toy[0], toy[1]).mean()
    torch.testing.assert_close(out.loss, hand)
    assert torch.isfinite(_grad(out.loss, toy[0])).all()


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


# -- several victims: the mean over groups ---------------------------------------------------------
def test_grouped_loss_matches_the_per_victim_losses():
    torch.manual_seed(0)
    m = 60
    logp_old = -torch.rand(m) - 0.1
    logp_new = (logp_old + 0.4 * torch.randn(m)).requires_grad_(True)  # ratios inside and outside the clip
    adv, world1 = torch.randn(m), torch.rand(m) < 0.5
    group = torch.randint(0, 4, (m,))
    group[group == 3] = 2  # group 3 has no rows: left out of the mean
    entropy = torch.rand(m)
    low, high = torch.tensor([-10.0, -10.0, -10.0, -10.0]), torch.tensor([0.0, 0.0, 0.0, 0.0])
    v0 = torch.tensor([-5.0, -0.2, math.nan, -5.0])  # inside, outside (too mild), no estimate, (absent)
    kw = dict(lam=0.3, zeta=0.5, clip_epsilon=0.2, entropy_coeff=0.01)
    grouped, diagnostics = ec_ppo(
        logp_new, logp_old, adv, world1, group, v0_hat=v0, low=low, high=high, entropy=entropy, **kw
    )
    (g_grouped,) = torch.autograd.grad(grouped, logp_new)
    terms = []
    for g in range(3):
        s1, s0 = world1 & (group == g), ~world1 & (group == g)
        terms.append(
            ec_ppo_loss(
                logp_new[s1],
                logp_old[s1],
                adv[s1],
                logp_new[s0],
                adv[s0],
                v0_hat=float(v0[g]),
                low=float(low[g]),
                high=float(high[g]),
                entropy=entropy[s1],
                logp_old_0=logp_old[s0],
                **kw,
            ).loss
        )
    reference = torch.stack(terms).mean()
    (g_reference,) = torch.autograd.grad(reference, logp_new)
    torch.testing.assert_close(grouped, reference)
    torch.testing.assert_close(g_grouped, g_reference)
    # one group in each of the barrier, above and no-V0 cases; the absent group 3 is not counted
    third = torch.tensor(1 / 3)
    torch.testing.assert_close(diagnostics["case_barrier"], third)
    torch.testing.assert_close(diagnostics["case_above"], third)
    torch.testing.assert_close(diagnostics["case_no_v0"], third)
    assert float(diagnostics["case_below"]) == 0.0
    torch.testing.assert_close(diagnostics["barrier_weight"], torch.tensor(0.3 * (1 / 5 - 1 / 5)))


def test_grouped_loss_on_no_rows_is_a_zero_in_the_graph():
    logp = torch.zeros(0, requires_grad=True)
    empty = torch.zeros(0)
    out, diagnostics = ec_ppo(
        logp,
        empty,
        empty,
        empty.bool(),
        empty.long(),
        v0_hat=torch.zeros(2),
        low=torch.full((2,), -1.0),
        high=torch.ones(2),
        lam=0.1,
        zeta=0.0,
        clip_epsilon=0.2,
        entropy=empty,
        entropy_coeff=0.0,
    )
    assert float(out.detach()) == 0.0 and out.requires_grad
    assert {name: float(v) for name, v in diagnostics.items()} == dict.fromkeys(diagnostics, 0.0)


# -- diagnostics on hand-built rows ----------------------------------------------------------------
def _rows(log_ratio_1: list[float], log_ratio_0: list[float], entropy_1: list[float] | None = None):
    """One group's rows with given log-ratios: world 1 first, then world 0."""
    n1, n0 = len(log_ratio_1), len(log_ratio_0)
    logp_old = torch.full((n1 + n0,), -1.0)
    logp_new = (logp_old + torch.tensor(log_ratio_1 + log_ratio_0)).requires_grad_(True)
    world1 = torch.tensor([True] * n1 + [False] * n0)
    entropy = torch.tensor((entropy_1 or [0.5] * n1) + [9.0] * n0)  # world-0 entropies must not count
    return logp_new, logp_old, torch.linspace(-1.0, 1.0, n1 + n0), world1, entropy


def _ec_ppo_one(rows, v0: float, clip_epsilon: float = EPS, zeta: float = ZETA):
    logp_new, logp_old, adv, world1, entropy = rows
    return ec_ppo(
        logp_new,
        logp_old,
        adv,
        world1,
        torch.zeros_like(world1, dtype=torch.long),
        v0_hat=torch.tensor([v0]),
        low=torch.tensor([LOW]),
        high=torch.tensor([HIGH]),
        lam=LAM,
        zeta=zeta,
        clip_epsilon=clip_epsilon,
        entropy=entropy,
        entropy_coeff=0.01,
    )


def test_diagnostics_ratio_one_has_no_clip_and_no_kl():
    out = _ec_ppo_one(_rows([0.0, 0.0, 0.0], [0.0, 3.0]), v0=-55.0)  # a world-0 row far off: not a PPO row
    d = _diag(out)
    assert d["clip_fraction"] == 0.0 and d["approx_kl"] == 0.0
    assert d["entropy"] == 0.5


def test_diagnostics_clip_fraction_and_kl_by_hand():
    ratios = [1.0, 1.5, 0.5, 1.1, 1.25]  # eps = 0.2: 1.5, 0.5 and 1.25 lie beyond 1 +- eps
    log_ratio = [math.log(r) for r in ratios]
    rows = _rows(log_ratio, [math.log(5.0)], entropy_1=[0.1, 0.2, 0.3, 0.4, 0.5])
    d = _diag(_ec_ppo_one(rows, v0=-60.0))
    assert d["clip_fraction"] == pytest.approx(3 / 5)
    assert d["approx_kl"] == pytest.approx(sum((r - 1) - math.log(r) for r in ratios) / 5, rel=1e-5)
    assert d["entropy"] == pytest.approx(0.3)
    d = _diag(_ec_ppo_one(rows, v0=-60.0, clip_epsilon=math.inf))  # EC-PG: nothing is clipped
    assert d["clip_fraction"] == 0.0 and d["approx_kl"] > 0


@pytest.mark.parametrize(
    ("v0", "case", "weight"),
    [
        (-55.0, "case_barrier", LAM * (1 / (-55.0 - LOW) - 1 / (HIGH + 55.0))),  # inside, near h: w < 0
        (-68.5, "case_barrier", LAM * (1 / (-68.5 - LOW) - 1 / (HIGH + 68.5))),  # inside, near l: w > 0
        (-69.5, "case_below", 0.0),  # within zeta of l: the sign step
        (-90.0, "case_below", 0.0),
        (-50.5, "case_above", 0.0),
        (-10.0, "case_above", 0.0),
        (float("nan"), "case_no_v0", 0.0),
    ],
)
def test_diagnostics_case_and_barrier_weight(v0, case, weight):
    out = _ec_ppo_one(_rows([0.1, -0.1], [0.0, 0.2]), v0=v0)
    assert _case(out) == case
    assert _diag(out)["barrier_weight"] == pytest.approx(weight, rel=1e-6)


def test_diagnostics_shares_over_groups():
    """Five groups: two inside (w known), one below, one without V0, one inside but without rows (not counted)."""
    rows = 12
    group = torch.arange(rows) % 4  # groups 0..3 have rows, group 4 none
    world1 = torch.arange(rows) < 8
    logp_old = torch.zeros(rows)
    logp_new = logp_old.clone().requires_grad_(True)
    v0 = torch.tensor([-55.0, -65.0, -80.0, math.nan, -60.0])
    low, high = torch.full((5,), LOW), torch.full((5,), HIGH)
    _, diagnostics = ec_ppo(
        logp_new,
        logp_old,
        torch.ones(rows),
        world1,
        group,
        v0_hat=v0,
        low=low,
        high=high,
        lam=LAM,
        zeta=ZETA,
        clip_epsilon=EPS,
        entropy=torch.ones(rows),
        entropy_coeff=0.0,
    )
    d = {name: float(v) for name, v in diagnostics.items()}
    assert d["case_barrier"] == 0.5 and d["case_below"] == 0.25 and d["case_no_v0"] == 0.25
    assert d["case_above"] == 0.0
    w = [LAM * (1 / (v - LOW) - 1 / (HIGH - v)) for v in (-55.0, -65.0)]
    assert d["barrier_weight"] == pytest.approx(sum(w) / 2)


# -- guards ----------------------------------------------------------------------------------------
def test_empty_minibatches_give_a_finite_zero_loss():
    weight = torch.randn(A, D, requires_grad=True)
    x, a, adv = torch.zeros(0, D), torch.zeros(0, dtype=torch.long), torch.zeros(0)
    old = _logp(weight, x, a).detach()  # [0]
    for v0 in (-60.0, -40.0, float("nan")):
        out = _run((weight, x, a, old, adv, x, a, adv), v0, entropy_coeff=0.01)
        d = _diag(out)
        assert float(out.loss.detach()) == 0.0 and d["clip_fraction"] == 0.0 and d["approx_kl"] == 0.0
        assert torch.equal(_grad(out.loss, weight), torch.zeros(A, D))


def test_nan_v0_uses_only_the_world1_terms():
    toy = _toy()
    weight, x1 = toy[0], toy[1]
    out = _run(toy, torch.tensor(float("nan")), entropy_coeff=0.01)
    hand = _ppo_1(toy) - 0.01 * _entropy(weight, x1).mean()
    assert _case(out) == "case_no_v0" and _diag(out)["barrier_weight"] == 0.0
    torch.testing.assert_close(out.loss, hand)


def test_bad_arguments():
    z = torch.zeros(3)
    common = {"v0_hat": -60.0, "lam": LAM, "zeta": ZETA, "clip_epsilon": EPS}
    with pytest.raises(ValueError, match="1-D of one length"):
        ec_ppo_loss(z, torch.zeros(2), z, z, z, low=LOW, high=HIGH, **common)
    with pytest.raises(ValueError, match="1-D of one length"):
        ec_ppo_loss(z, z, torch.zeros(4), z, torch.zeros(2), low=LOW, high=HIGH, **common)  # lengths add up
    with pytest.raises(ValueError, match="low < high"):
        ec_ppo_loss(z, z, z, z, z, low=HIGH, high=LOW, **common)
    with pytest.raises(ValueError, match="world1 must be a bool"):
        kw = dict(v0_hat=z[:1], low=z[:1] - 1, high=z[:1] + 1, lam=LAM, zeta=ZETA, clip_epsilon=EPS)
        ec_ppo(z, z, z, z, z.long(), entropy=z, entropy_coeff=0.0, **kw)


def test_zeta_per_group_sets_each_victims_guard():
    """A per-group guard (value units, from the severity-scale setting times each victim's span): the same V_hat(0)
    is in the barrier case for a victim with a narrow guard and in the sign case for one with a wide guard."""
    toy = _toy()
    weight, x1, a1, old1, adv1, x0, a0, adv0 = toy
    new1, new0 = _logp(weight, x1, a1), _logp(weight, x0, a0)
    rows = torch.cat([new1, new0])
    world1 = torch.cat([torch.ones_like(new1, dtype=torch.bool), torch.zeros_like(new0, dtype=torch.bool)])
    group = torch.cat(
        [
            torch.zeros(8, dtype=torch.long),
            torch.ones(new1.numel() - 8, dtype=torch.long),
            torch.zeros(8, dtype=torch.long),
            torch.ones(new0.numel() - 8, dtype=torch.long),
        ]
    )
    two = torch.ones(2)
    out = ec_ppo(
        rows,
        torch.cat([old1, new0.detach()]),
        torch.cat([adv1, adv0]),
        world1,
        group,
        v0_hat=two * (LOW + 2.0),
        low=two * LOW,
        high=two * HIGH,
        lam=LAM,
        zeta=torch.tensor([1.0, 3.0]),
        clip_epsilon=EPS,
        entropy=torch.zeros_like(rows),
        entropy_coeff=0.0,
    )
    d = _diag(out)
    assert d["case_barrier"] == 0.5 and d["case_below"] == 0.5  # group 0: 2 > 1 inside; group 1: 2 < 3 outside
    with pytest.raises(ValueError, match="zeta"):
        ec_ppo(
            rows,
            rows.detach(),
            torch.cat([adv1, adv0]),
            world1,
            group,
            v0_hat=two * -60.0,
            low=two * LOW,
            high=two * HIGH,
            lam=LAM,
            zeta=torch.tensor([1.0, -1.0]),
            clip_epsilon=EPS,
            entropy=torch.zeros_like(rows),
            entropy_coeff=0.0,
        )


def test_world0_diagnostics_measure_the_unclipped_surrogates_rows():
    """approx_kl_0 / entropy_0 are over the world-0 rows: 0 KL at the collected policy, > 0 after it moved."""
    toy = _toy()
    weight, x1, a1, old1, adv1, x0, a0, adv0 = toy
    new0 = _logp(weight, x0, a0)
    same = ec_ppo_loss(
        _logp(weight, x1, a1),
        old1,
        adv1,
        new0,
        adv0,
        v0_hat=-80.0,
        low=LOW,
        high=HIGH,
        lam=LAM,
        zeta=ZETA,
        clip_epsilon=EPS,
    )
    assert _diag(same)["approx_kl_0"] == pytest.approx(0.0, abs=1e-7)
    # world-0 rows whose stored log-probs differ from the current policy's: a positive KL estimate
    ent = torch.cat([torch.zeros(x1.shape[0]), _entropy(weight, x0)])
    moved = _both_worlds(_logp(weight, x1, a1), old1, adv1, new0, new0.detach() + 0.5, adv0, EPS, entropy=ent)
    d = _diag(moved)
    assert d["approx_kl_0"] == pytest.approx(float(math.exp(-0.5) - 1 + 0.5), rel=1e-5)
    assert d["entropy_0"] == pytest.approx(float(_entropy(weight, x0).mean().detach()), rel=1e-5)
