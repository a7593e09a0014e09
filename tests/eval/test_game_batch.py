"""Many types of the game in one batched rollout: every env keeps its own fixed type and world at each reset."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from tensordict import TensorDict

from batpal.eval.game_batch import PerEnvTypes
from batpal.game.types import TypeSpace


def test_each_env_takes_its_own_type_and_world_at_every_reset():
    space = TypeSpace(3, 2, 1)  # 3 agents, K = 2: |Z| = 7
    module = SimpleNamespace(space=space, prior=SimpleNamespace(probs=torch.full((7,), 1 / 7)))
    types, world = torch.tensor([0, 3, 3, 6]), torch.tensor([1, 1, 0, 0])
    draw = PerEnvTypes(module, world, types, seed=0)
    for _ in range(3):  # the prior is never drawn from: the same types whatever the generator does
        out = draw._reset(TensorDict({}, batch_size=[4]), TensorDict({}, batch_size=[4]))
        assert out["type"].tolist() == [0, 3, 3, 6] and out["world"].tolist() == [1, 1, 0, 0]
    assert out["victim"].tolist() == [-1, 1, 1, 2] and out["severity"].tolist() == [0, 1, 1, 2]
    partial = TensorDict({"_reset": torch.tensor([True, False, False, False])}, batch_size=[4])
    assert draw._reset(partial, TensorDict({}, batch_size=[4]))["type"].tolist() == [0, 3, 3, 6]
