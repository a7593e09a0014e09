"""MAPPO's clip loss and critic loss against values and gradients computed by hand (CleanRL's formulas)."""

from __future__ import annotations

import torch
from tensordict import TensorDict

from batpal.nn import make_actor, make_critic
from batpal.objectives import build_mappo_loss

B, N, OBS, A, S = 64, 3, 5, 4, 7
EPS = 0.2


def _batch(actor, seed: int = 0) -> TensorDict:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(B, N, A, generator=g) > 0.3
    mask[..., 0] = True  # at least one legal action
    td = TensorDict(
        {
            "agents": TensorDict(
                {"observation": torch.randn(B, N, OBS, generator=g), "action_mask": mask}, batch_size=[B, N]
            ),
            "state": torch.randn(B, S, generator=g),
        },
        batch_size=[B],
    )
    with torch.no_grad():
        actor(td)
    # Old log-probs away from the new ones so that some ratios leave [1 - eps, 1 + eps].
    td["agents", "action_log_prob"] = td["agents", "action_log_prob"] + 0.5 * torch.randn(B, N, generator=g)
    td["agents", "advantage"] = torch.randn(B, N, 1, generator=g)
    td["agents", "value_target"] = torch.randn(B, N, 1, generator=g) * 5
    return td


def test_clip_objective_value_and_gradient_match_the_formula():
    torch.manual_seed(0)
    actor = make_actor([("agents", "observation")], OBS, N, A, hidden=(16,))
    critic = make_critic(["state"], S, N, hidden=(16,))
    loss = build_mappo_loss(
        actor,
        critic,
        gamma=0.99,
        gae_lambda=0.95,
        clip_epsilon=EPS,
        entropy_coeff=0.0,
        value_norm=False,
        normalize_advantage=False,
    )
    td = _batch(actor)
    out = loss(td.clone())
    actor.zero_grad()
    out["loss_objective"].backward()
    got = [p.grad.clone() for p in actor.parameters()]

    # By hand: ratio = exp(logp - logp_old); loss = mean(max(-A r, -A clip(r, 1-eps, 1+eps))).
    actor.zero_grad()
    logits = actor.module[0](td.clone())["agents", "logits"].masked_fill(~td["agents", "action_mask"], -torch.inf)
    logp = torch.log_softmax(logits, -1).gather(-1, td["agents", "action"].unsqueeze(-1)).squeeze(-1)
    ratio = (logp - td["agents", "action_log_prob"]).exp()
    adv = td["agents", "advantage"].squeeze(-1)
    expected = torch.max(-adv * ratio, -adv * ratio.clamp(1 - EPS, 1 + EPS)).mean()
    expected.backward()
    clipped = ((ratio < 1 - EPS) | (ratio > 1 + EPS)).float().mean()
    assert 0.05 < float(clipped) < 0.95  # both branches are exercised
    torch.testing.assert_close(out["loss_objective"], expected.detach())
    for g_got, p in zip(got, actor.parameters(), strict=True):
        torch.testing.assert_close(g_got, p.grad)


def test_critic_loss_is_huber_on_the_value_target_and_reaches_only_the_critic():
    torch.manual_seed(1)
    actor = make_actor([("agents", "observation")], OBS, N, A, hidden=(16,))
    critic = make_critic(["state"], S, N, hidden=(16,))
    loss = build_mappo_loss(
        actor,
        critic,
        gamma=0.99,
        gae_lambda=0.95,
        clip_epsilon=EPS,
        entropy_coeff=0.01,
        value_norm=False,
        normalize_advantage=False,
    )
    td = _batch(actor, seed=3)
    out = loss(td.clone())
    value = critic(td.clone())["agents", "state_value"]
    expected = torch.nn.functional.smooth_l1_loss(value, td["agents", "value_target"], reduction="none").mean()
    torch.testing.assert_close(out["loss_critic"], expected)
    actor.zero_grad()
    out["loss_critic"].backward()
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0.0 for p in actor.parameters())
    assert any(float(p.grad.abs().sum()) > 0.0 for p in critic.parameters())
