"""V_hat(0) (eq. 13) against hand-computed and loop-reference values, per batch and per adversarial type."""

from __future__ import annotations

import math

import pytest
import torch
from tensordict import TensorDict

from batpal.game import TypeSpace
from batpal.game.value_zero import value_zero_by_type, value_zero_estimate, value_zero_stats


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


def test_v0_by_type_reads_the_world0_envs_only():
    """Two world-0 envs (types (0, 1) and (1, 2)) and a world-1 env whose rewards must not leak in."""
    space = TypeSpace(n_agents=2, K=2)
    z_01, z_12 = 1, 4
    assert (space.victim_of(z_01), space.severity_of(z_01)) == (0, 1)
    assert (space.victim_of(z_12), space.severity_of(z_12)) == (1, 2)
    done = _series([False, True, False, False], [False] * 4, [False, True, False, False])
    batch = TensorDict(
        {
            "is_init": _series([True, False, True, False], [True, False, False, False], [True, False, True, False]),
            "type": _series([z_01, z_01, 0, 0], [z_12] * 4, [z_01] * 4),  # env 0's second episode is benign
            "next": {
                "reward": _series([1.0, 2.0, 3.0, 4.0], [1.0] * 4, [100.0] * 4),
                "done": done,
                "terminated": done.clone(),
            },
        },
        batch_size=[3, 4],
    )
    next_value = _series([0.0, 0.0, 0.0, 9.0], [0.0, 0.0, 0.0, 8.0], [50.0] * 4)
    world0 = torch.tensor([True, True, False])[:, None].expand(3, 4)
    out = value_zero_by_type(batch, next_value, world0, space, 0.5)
    assert out == {(0, 1): 1 + 0.5 * 2, (1, 2): 1 + 0.5 + 0.25 + 0.125 + 0.0625 * 8}  # benign type: no key
    assert value_zero_by_type(batch, next_value, torch.zeros(3, 4, dtype=torch.bool), space, 0.5) == {}


def test_v0_stats_give_the_standard_error_and_the_critics_share():
    """Two world-0 episodes of one type, one cut by the batch end (its tail is phi(0)'s bootstrap)."""
    space = TypeSpace(n_agents=2, K=1)
    z = 1
    done = _series([False, True, False, False])
    batch = TensorDict(
        {
            "is_init": _series([True, False, True, False]),
            "type": _series([z] * 4),
            "next": {"reward": _series([1.0, 1.0, 1.0, 1.0]), "done": done, "terminated": done.clone()},
        },
        batch_size=[1, 4],
    )
    next_value = _series([0.0, 0.0, 0.0, 6.0])
    stats = value_zero_stats(batch, next_value, torch.ones(1, 4, dtype=torch.bool), space, 0.5)
    first, second = 1 + 0.5, 1 + 0.5 + 0.25 * 6  # 1.5 and 3.0; the second's bootstrap is 1.5
    s = stats[(0, 1)]
    assert s.count == 2 and s.mean == pytest.approx(2.25)
    assert s.se == pytest.approx(torch.tensor([first, second]).std().item() / math.sqrt(2))
    assert s.bootstrap_share == pytest.approx((0 + 1.5) / 2 / ((first + second) / 2))
    assert value_zero_by_type(batch, next_value, torch.ones(1, 4, dtype=torch.bool), space, 0.5) == {(0, 1): 2.25}
