"""Each iteration is one row of metrics.csv (Lightning's step, its train/* figures, frames, wall_s), written to the
loggers in one call; train/return is the mean of the episodes that ended in that iteration on every rank, blank
where none ended (not the last value repeated), and still reaches ``callback_metrics`` (``train.converged``)."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import pytest
import torch
from tensordict import TensorDict

from batpal.fit import fit
from batpal.modules.rollout import RolloutModule
from tests.conftest import TINY, compose_config


def _batch(done: list[list[bool]], returns: list[list[float]], wins: list[list[float]] | None = None) -> TensorDict:
    shape = (len(done), len(done[0]))
    nxt = {"done": torch.tensor(done).unsqueeze(-1), "episode_reward": torch.tensor(returns).unsqueeze(-1)}
    if wins is not None:
        nxt["info"] = TensorDict({"battle_won": torch.tensor(wins).unsqueeze(-1)}, batch_size=shape)
    return TensorDict({"next": TensorDict(nxt, batch_size=shape)}, batch_size=shape)


def _module(world_size: int = 1, other_ranks: torch.Tensor | None = None) -> SimpleNamespace:
    """What ``_episode_figures`` reads of a module; ``other_ranks``: the sums the other ranks add in the reduction."""
    def reduce(sums: torch.Tensor) -> torch.Tensor:
        return sums + other_ranks.to(sums)

    return SimpleNamespace(_trainer=object(), trainer=SimpleNamespace(world_size=world_size),
                           _sum_over_ranks=reduce, _last_return=float("nan"))


def test_the_return_is_the_mean_of_the_episodes_that_ended_and_none_when_none_did():
    batch = _batch([[False, True], [True, False]], [[9.0, -4.0], [-2.0, 7.0]], wins=[[0.0, 1.0], [0.0, 0.0]])
    module = _module()
    figures = RolloutModule._episode_figures(module, batch)
    assert figures == {"train/return": pytest.approx(-3.0), "train/win_rate": pytest.approx(0.5)}
    assert module._last_return == pytest.approx(-3.0)
    assert RolloutModule._episode_figures(_module(), _batch([[False, False]], [[1.0, 2.0]])) == {}


def test_ranks_pool_their_episodes_and_a_rank_without_one_still_joins_the_reduction():
    # this rank: no episode ended; the other rank: two, returns summing to -10 -> the pooled mean is -5
    module = _module(world_size=2, other_ranks=torch.tensor([-10.0, 2.0, 0.0]))
    assert RolloutModule._episode_figures(module, _batch([[False, False]], [[1.0, 2.0]])) == {
        "train/return": pytest.approx(-5.0)}
    module = _module(world_size=2, other_ranks=torch.tensor([-10.0, 2.0, 0.0]))  # and one here: (-10 + 4) / 3
    assert RolloutModule._episode_figures(module, _batch([[True, False]], [[4.0, 2.0]]))["train/return"] == \
        pytest.approx(-2.0)


def test_one_row_per_iteration_at_lightnings_step_with_the_return_only_where_episodes_ended(tmp_path):
    # 50-step episodes, 25-step rollouts: an episode ends every second iteration; 3 epochs of 2 iterations
    run = tmp_path / "run"
    fit(compose_config(["experiment=mpe_spread", *TINY, "stages=[pretrain]", "pretrain.frames=2400",
                        "pretrain.eval_every=0"], run))
    with open(run / "metrics" / "pretrain" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    per_iteration = 16 * 25
    steps = [int(r["step"]) for r in rows]  # Lightning's count, which an epoch's end advances once more
    assert steps == sorted(set(steps)) and steps[:2] == [0, 1]  # one row each: no epoch-end duplicate rows
    assert [float(r["frames"]) for r in rows] == [per_iteration * (i + 1) for i in range(6)]
    assert [bool(r["train/return"]) for r in rows] == [False, True] * 3
    assert all(r["train/loss_critic"] and r["train/entropy"] and float(r["wall_s"]) > 0 for r in rows)
    assert [int(r["epoch"]) for r in rows] == [0, 0, 1, 1, 2, 2]
