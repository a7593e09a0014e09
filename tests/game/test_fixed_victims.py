"""``FixedVictims``: the constant victim (set) and type keys a defender's evaluation envs carry."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict

from batpal.envs import make
from batpal.game.fixed_victims import FixedVictims
from batpal.game.types import TypeSpace

N = 4


def test_fixed_victims_writes_constant_game_keys_across_resets():
    env = make("mpe_spread", 3, 0)
    env.append_transform(FixedVictims(torch.tensor([-1, 0, 2]), 3, K=4, severity=2))
    traj = env.rollout(60, break_when_any_done=False)  # crosses the 50-step episode end
    assert traj["victim"].tolist() == [[-1] * 60, [0] * 60, [2] * 60]
    assert traj["type"][:, 0].tolist() == [0, 2, 10]  # z = 1 + v K + (k - 1)
    assert traj["severity"][:, 0].tolist() == [0, 2, 2]
    assert bool((traj["world"] == 1).all()) and bool((traj["next", "type"] == traj["type"]).all())
    with pytest.raises(ValueError, match="victims must lie in -1..2"):
        FixedVictims(torch.tensor([3]), 3)


def test_fixed_victim_sets_write_set_types():
    space = TypeSpace(N, 2, 2)
    fixed = FixedVictims(torch.tensor([-1, 0, 5]), N, K=2, severity=2, victims=2)
    td = fixed._call(TensorDict({}, batch_size=[3]))
    assert td.get("victim").tolist() == [-1, 0, 5]
    assert (
        td.get("type").tolist()
        == [0, 2, 12]
        == space.type_index(torch.tensor([0, 0, 5]), torch.tensor([0, 2, 2])).tolist()
    )
    assert td.get("severity").tolist() == [0, 2, 2]
