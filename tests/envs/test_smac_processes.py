"""How many games (StarCraft II processes) a SMAC batch and an evaluation start: one per env plus one, closed at
once, for the batch's metadata; an evaluation builds its batch once, whatever its number of episodes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import torch

import batpal.eval.episodes as episodes_module
from batpal.envs import make
from batpal.eval.episodes import evaluate_policy
from tests.envs.smac_standin import StandInStarCraft2Env


class CountingGame(StandInStarCraft2Env):
    """The stand-in, counting games built (their seeds) and games alive at once (one process: ``SerialEnv``)."""

    seeds: list[int] = []
    alive = 0
    peak = 0

    def __init__(self, map_name: str, seed: int, **kwargs) -> None:
        super().__init__(map_name, seed, **kwargs)
        CountingGame.seeds.append(seed)
        CountingGame.alive += 1
        CountingGame.peak = max(CountingGame.peak, CountingGame.alive)

    def close(self) -> None:
        if not self.closed:
            CountingGame.alive -= 1
        super().close()

    @classmethod
    def clear(cls) -> None:
        cls.seeds, cls.alive, cls.peak = [], 0, 0


def file_counting_game(map_name: str, seed: int, count_dir: str, **kwargs) -> StandInStarCraft2Env:
    """The stand-in, leaving one file per game built in ``count_dir`` (games built in worker processes)."""
    Path(count_dir, f"{seed}-{os.getpid()}-{uuid.uuid4().hex}").touch()
    return StandInStarCraft2Env(map_name, seed, **kwargs)


@pytest.fixture
def counting():
    CountingGame.clear()
    yield CountingGame
    CountingGame.clear()


def test_serial_batch_builds_one_game_per_env_plus_one_for_metadata(counting):
    env = make("smac_2s3z", 4, seed=5, env_factory=counting, parallel=False, episode_limit=4)
    assert counting.seeds == [5] and counting.alive == 0  # the metadata game, closed again
    env.rollout(6, break_when_any_done=False)
    assert counting.seeds == [5, 5, 6, 7, 8] and counting.peak == 4  # env i has seed + i
    env.close()
    assert counting.alive == 0


@pytest.mark.slow  # worker processes take ~30 s to start on 2 shared cores
def test_parallel_batch_builds_one_game_per_env_plus_one_for_metadata(tmp_path):
    env = make("smac_2s3z", 3, seed=5, env_factory=file_counting_game, count_dir=str(tmp_path), episode_limit=4)
    try:
        env.set_seed(3)  # an evaluation reseeds its batch per chunk: the workers reseed their global generators
        env.rollout(5, break_when_any_done=False)
    finally:
        env.close()
    assert sorted(int(f.name.split("-")[0]) for f in tmp_path.iterdir()) == [5, 5, 6, 7]


def test_evaluation_builds_its_batch_once_and_never_more_games(counting, monkeypatch):
    calls = []
    real_make = episodes_module.make

    def counting_make(name: str, num_envs: int, *args, **kwargs):
        calls.append(num_envs)
        return real_make(name, num_envs, *args, **kwargs)

    monkeypatch.setattr(episodes_module, "make", counting_make)
    kwargs = {"env_factory": counting, "parallel": False, "episode_limit": 4}
    result = evaluate_policy(
        None, "smac_2s3z", 7, seed=0, gamma=0.99, max_episode_steps=10, num_envs=3, env_kwargs=kwargs
    )
    assert result.returns.shape == (7,) and result.wins is not None and result.wins.shape == (7,)
    assert calls == [3]  # 7 episodes with eval_envs = 3: one batch of 3 for the 3 chunks
    assert len(counting.seeds) == 3 + 1 and counting.peak <= 3 and counting.alive == 0  # all closed after


def test_smac_evaluation_is_reproducible(counting):
    kwargs = {"env_factory": counting, "parallel": False, "episode_limit": 4}

    def play() -> torch.Tensor:
        return evaluate_policy(
            None, "smac_2s3z", 5, seed=2, gamma=0.99, max_episode_steps=10, num_envs=2, env_kwargs=kwargs
        ).returns

    torch.testing.assert_close(play(), play(), rtol=0, atol=0)
