"""A defender under an attack: one cross-table cell plays every victim, in chunks, reproducibly."""

from __future__ import annotations

import pytest
import torch

from batpal.attacks import make_attack
from batpal.eval.attacked import evaluate_attack
from batpal.eval.defenders import load_defender


@pytest.fixture(scope="module")
def defenders(game_run, mappo_run):
    return [load_defender(mappo_run), load_defender(game_run)]


def test_evaluate_attack_plays_every_victim_in_chunks(defenders):
    random = make_attack("random", defenders)
    result = evaluate_attack(defenders[1], random, 5, seed=0, num_envs=4)  # 15 episodes in chunks of 4
    assert result.returns.shape == (15,) and result.discounted.shape == (15,) and result.wins is None
    assert bool((result.returns < 0).all())  # MPE-Spread rewards are negative distances
    assert evaluate_attack(defenders[0], make_attack("none"), 5, seed=0, num_envs=8).returns.shape == (5,)
    again = evaluate_attack(defenders[1], random, 5, seed=0, num_envs=4)
    assert torch.equal(again.returns, result.returns)  # seeded: reproducible
