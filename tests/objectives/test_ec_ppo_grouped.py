"""The vectorised EC-PPO loss over victims equals the mean of the per-victim eq. 14 losses, value and gradient."""

from __future__ import annotations

import math

import torch

from batpal.objectives.ec_ppo import ec_ppo_loss, ec_ppo_loss_grouped


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
    grouped = ec_ppo_loss_grouped(
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
                **kw,
            ).loss
        )
    reference = torch.stack(terms).mean()
    (g_reference,) = torch.autograd.grad(reference, logp_new)
    torch.testing.assert_close(grouped, reference)
    torch.testing.assert_close(g_grouped, g_reference)


def test_grouped_loss_on_no_rows_is_a_zero_in_the_graph():
    logp = torch.zeros(0, requires_grad=True)
    empty = torch.zeros(0)
    out = ec_ppo_loss_grouped(
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
    assert float(out) == 0.0 and out.requires_grad
