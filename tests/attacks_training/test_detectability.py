"""Detectability (-log pi0 of the victim's action), the shaped reward, the c of each attack, the per-episode draw."""

from __future__ import annotations

import torch
from tensordict import TensorDict
from torchrl.envs.utils import ExplorationType, set_exploration_type

from batpal.envs import make
from batpal.envs.victim_draw import VictimDraw
from batpal.eval.victims import FixedVictims
from batpal.game.types import TypeSpace
from batpal.nn.actor import actor_net, make_actor
from batpal.objectives.detectability import adversary_reward, agent_detectability, agent_deviation, detectability
from tests.attacks_training.conftest import attack_config

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


def test_act_ignores_detectability_and_dyn2_weighs_it_more_than_dyn1(tmp_path):
    c = {kind: attack_config(kind, "unused", tmp_path).attack for kind in ("act", "dyn1", "dyn2")}
    assert [c[k].name for k in c] == ["act", "dyn1", "dyn2"]
    assert c["act"].c == 0.0
    assert 0.0 < c["dyn1"].c < c["dyn2"].c


def _victims(env, steps: int = 120) -> torch.Tensor:
    with set_exploration_type(ExplorationType.RANDOM):
        return env.rollout(steps, break_when_any_done=False)  # random actions


def test_victims_are_redrawn_uniformly_at_each_reset_and_resume_exactly():
    draw = VictimDraw(3, 64, seed=5)
    env = make("mpe_spread", 64, 0)
    env.append_transform(draw)
    first = _victims(env)["victim"]  # [64, 120]: episodes of 50 steps -> 3 draws per env
    for start, stop in ((0, 50), (50, 100), (100, 120)):
        assert (first[:, start:stop] == first[:, start : start + 1]).all()  # constant within an episode
    per_episode = first[:, ::50]  # [64, 3]
    assert (per_episode[:, 0] != per_episode[:, 1]).float().mean() > 0.4  # redrawn at the reset (2/3 expected)
    counts = torch.bincount(per_episode.reshape(-1), minlength=3)
    assert counts.numel() == 3 and counts.min() > 40  # ~64 each of 192 draws
    state = env.transform.state_dict()
    later = _victims(env)["victim"]
    env.transform.load_state_dict(state)
    again = _victims(env)["victim"]
    assert not torch.equal(later, first)  # the generator moved on
    torch.testing.assert_close(later, again, rtol=0, atol=0)  # restored generator: the same draws again


def test_a_game_defenders_type_follows_the_drawn_victim():
    env = make("mpe_spread", 32, 0)
    env.append_transform(FixedVictims(torch.zeros(32, dtype=torch.long), 3, K=4, severity=2))
    env.append_transform(VictimDraw(3, 32, seed=1, K=4))
    td = _victims(env, 60)
    space = TypeSpace(3, 4)
    assert (td["severity"] == 2).all()
    torch.testing.assert_close(td["type"], space.type_index(td["victim"], td["severity"]))
    assert set(td["victim"].unique().tolist()) == {0, 1, 2}
