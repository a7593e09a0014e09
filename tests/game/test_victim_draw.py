"""The per-episode victim draw of attack training: redrawn at each reset, resumed exactly, the type following it."""

from __future__ import annotations

import torch
from torchrl.envs.utils import ExplorationType, set_exploration_type

from batpal.envs import make
from batpal.game.fixed_victims import FixedVictims
from batpal.game.types import TypeSpace
from batpal.game.victim_draw import VictimDraw


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
