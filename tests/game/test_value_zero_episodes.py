"""V_hat(0) from finished episodes (``game.v0_estimate=episodes``): whole discounted returns carried across
batches, the same whatever the batch boundaries, no critic, grouped by type like eq. 13's estimate."""

from __future__ import annotations

import pytest
import torch

from batpal.game.types import TypeSpace
from batpal.game.value_zero_episodes import EpisodeCarry, finished_returns, finished_value_zero

GAMMA = 0.9


def _series(n_envs: int = 3, horizon: int = 40, seed: int = 0):
    """Random rewards and episode ends; ``start`` is True at t = 0 and right after each done, as TorchRL sets it."""
    g = torch.Generator().manual_seed(seed)
    reward = torch.randn(n_envs, horizon, generator=g)
    done = torch.rand(n_envs, horizon, generator=g) < 0.15
    start = torch.zeros_like(done)
    start[:, 0] = True
    start[:, 1:] = done[:, :-1]
    return reward, start, done


def _by_hand(reward, start, done):
    """Each finished episode's discounted return, env by env, in the (time, env) order of the function."""
    out = []
    for e in range(reward.shape[0]):
        ret, disc = 0.0, 1.0
        for t in range(reward.shape[1]):
            if start[e, t]:
                ret, disc = 0.0, 1.0
            ret += disc * float(reward[e, t])
            disc *= GAMMA
            if done[e, t]:
                out.append((t, e, ret))
    return [value for _, _, value in sorted(out)]


@pytest.mark.parametrize("cuts", [[40], [25, 15], [7, 7, 7, 19], [1] * 40])
def test_finished_returns_do_not_depend_on_the_batch_boundaries(cuts):
    reward, start, done = _series()
    carry, values, t0 = EpisodeCarry.fresh(3), [], 0
    for length in cuts:
        part = slice(t0, t0 + length)
        got, ends, carry = finished_returns(reward[:, part], start[:, part], done[:, part], carry, GAMMA)
        assert int(ends.sum()) == got.numel() and bool((ends <= done[:, part]).all())
        values.append(got)
        t0 += length
    torch.testing.assert_close(torch.cat(values), torch.tensor(_by_hand(reward, start, done)))


def test_an_episode_whose_start_was_not_seen_is_left_out():
    """A fresh carry (a run resumed from a checkpoint without one) skips the episodes already running."""
    reward = torch.ones(1, 6)
    done = torch.tensor([[False, True, False, False, True, False]])
    start = torch.tensor([[False, False, True, False, False, True]])  # the batch begins inside an episode
    values, ends, carry = finished_returns(reward, start, done, EpisodeCarry.fresh(1), GAMMA)
    torch.testing.assert_close(values, torch.tensor([1 + GAMMA + GAMMA**2]))  # only the episode of steps 2-4
    assert ends.tolist() == [[False, False, False, False, True, False]] and bool(carry.seen[0])


def test_finished_value_zero_groups_by_type_without_bootstrap():
    space = TypeSpace(n_agents=3, K=2)
    z1, z2 = int(space.type_index(0, 1)), int(space.type_index(2, 2))
    reward = torch.tensor([[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], [5.0, 5.0, 5.0, 5.0]])
    done = torch.tensor([[False, True, False, True], [False, False, False, True], [True, False, False, False]])
    start = torch.zeros_like(done)
    start[:, 0], start[:, 1:] = True, done[:, :-1]
    types = torch.tensor([[z1] * 4, [z1] * 4, [0] * 4])  # env 2 is benign: no (v, k) entry
    values, ends, _ = finished_returns(reward, start, done, EpisodeCarry.fresh(3), GAMMA)
    out = finished_value_zero(values, ends, types, space)
    assert set(out) == {(0, 1)}
    first, second = 1 + GAMMA, 2 * (1 + GAMMA + GAMMA**2 + GAMMA**3)
    expected = torch.tensor([first, first, second])  # env 0's two episodes, env 1's one
    assert out[(0, 1)].count == 3 and out[(0, 1)].bootstrap_share == 0.0
    assert out[(0, 1)].mean == pytest.approx(float(expected.mean()))
    assert out[(0, 1)].se == pytest.approx(float(expected.std() / 3**0.5))
    types[2] = z2
    assert set(finished_value_zero(values, ends, types, space)) == {(0, 1), (2, 2)}


def test_a_carry_of_another_width_is_refused():
    reward, start, done = _series()
    with pytest.raises(ValueError, match="carry holds 2 envs"):
        finished_returns(reward, start, done, EpisodeCarry.fresh(2), GAMMA)
