"""The one episode loop: chunks of envs, each chunk seeded and decorated for its own episodes, first episodes only."""

from __future__ import annotations

import pytest
import torch
from torchrl.envs import TransformedEnv

from batpal.eval.episodes import measure, play_chunks


def test_chunks_are_seeded_and_decorated_for_their_episodes():
    seen = []

    def decorate(env: TransformedEnv, span: slice, chunk_seed: int) -> TransformedEnv:
        seen.append((span, chunk_seed, env.batch_size.numel()))
        return env

    chunks = list(
        play_chunks(None, "mpe_spread", 5, seed=10, max_episode_steps=50, num_envs=2, decorate=decorate, seed_step=100)
    )
    assert seen == [(slice(0, 2), 10, 2), (slice(2, 4), 110, 2), (slice(4, 5), 210, 1)]
    for chunk in chunks:
        assert bool((chunk.first_end == 49).all())  # MPE-Spread: 50 steps, then the episode ends
        assert bool(chunk.alive.all()) and chunk.returns().shape == chunk.first_end.shape
    result = measure(iter(chunks), gamma=1.0)
    assert result.returns.shape == (5,) and result.wins is None
    torch.testing.assert_close(result.discounted, result.returns)  # gamma = 1: the undiscounted return


def test_no_episodes_is_refused():
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        next(play_chunks(None, "mpe_spread", 0, seed=0, max_episode_steps=50))
