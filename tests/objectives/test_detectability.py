"""Detectability (-log pi0 of the victim's action) and the shaped reward of an RL attack."""

from __future__ import annotations

import torch
from tensordict import TensorDict

from batpal.nn.actor import actor_net, make_actor
from batpal.objectives.detectability import adversary_reward, agent_detectability, agent_deviation, detectability

AGENTS = "agents"


def test_detectability_is_the_negative_log_likelihood_under_pi0_by_hand():
    torch.manual_seed(0)
    B, N, obs_dim, A = 5, 3, 6, 4
    pi0 = make_actor([(AGENTS, "observation")], obs_dim, N, A, [8])
    obs = torch.randn(B, N, obs_dim)
    mask = torch.ones(B, N, A, dtype=torch.bool)
    mask[0, 0, 3] = mask[1, 1, :2] = mask[4, 2, 0] = False  # some illegal actions
    action = torch.tensor([[2, 0, 1], [3, 2, 0], [0, 1, 3], [1, 1, 1], [3, 3, 2]])
    victim = torch.tensor([0, 1, 2, -1, 1])
    td = TensorDict({AGENTS: {"observation": obs, "action_mask": mask, "action": action}, "victim": victim}, [B])

    log_p = torch.log_softmax(actor_net(pi0)(obs).masked_fill(~mask, float("-inf")), dim=-1).detach()  # [B, N, A]
    by_hand = torch.tensor([-float(log_p[b, v, action[b, v]]) if v >= 0 else 0.0 for b, v in enumerate(victim)])

    torch.testing.assert_close(detectability(pi0, td), by_hand)
    assert (by_hand[victim >= 0] > 0).all()  # a finite, positive surprise for every legal action
    every_agent = agent_detectability(pi0, td)
    torch.testing.assert_close(every_agent, -log_p.gather(-1, action.unsqueeze(-1)).squeeze(-1))
    off_mode = (action != log_p.argmax(-1)).float()  # [B, N] not pi0's most likely action
    torch.testing.assert_close(agent_deviation(pi0, td), off_mode)
    assert (AGENTS, "logits") not in td.keys(True)  # pi0 wrote nothing into the caller's tensordict


def test_adversary_reward_is_minus_team_reward_minus_c_detectability():
    r, d = torch.tensor([[-1.0], [-2.5], [0.5]]), torch.tensor([[0.5], [3.0], [0.0]])
    torch.testing.assert_close(adversary_reward(r, d, 0.3), torch.tensor([[0.85], [1.6], [-0.5]]))
    torch.testing.assert_close(adversary_reward(r, d, 0.0), -r)


def test_lbfs_detectability_unit_is_the_ratio_of_the_papers_return_ranges():
    """The c of DYN-1 / DYN-2 were set on MPE-Spread; on LBF a nat of detectability costs the same share of the
    paper's normalised return (every LBF rule set: the bounds are the authors' env's)."""
    from omegaconf import OmegaConf

    from batpal.envs.registry import check_env_name
    from tests.conftest import CONFIGS

    (mpe_lo, mpe_hi), (lbf_lo, lbf_hi) = (check_env_name(n).return_bounds for n in ("mpe_spread", "lbf"))
    for name in ("lbf", "lbf_released", "lbf_lbforaging"):
        unit = OmegaConf.load(CONFIGS / "env" / f"{name}.yaml").detectability_unit
        assert abs(unit / ((lbf_hi - lbf_lo) / (mpe_hi - mpe_lo)) - 1) < 1e-3, name
    assert OmegaConf.load(CONFIGS / "env" / "mpe_spread.yaml").get("detectability_unit", 1.0) == 1.0
