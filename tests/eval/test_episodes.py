"""The one episode loop: one batched env reused by every chunk, each chunk reseeded and decorated for its own
episodes, first episodes only, the same figures for the same (seed, num_envs, episodes)."""

from __future__ import annotations

import pytest
import torch
from torchrl.envs import InitTracker, TransformedEnv

import batpal.eval.episodes as episodes_module
from batpal.eval.episodes import measure, play_chunks, span_rows


def _returns(episodes: int, seed: int, num_envs: int, seed_step: int = 100) -> torch.Tensor:
    chunks = play_chunks(
        None, "mpe_spread", episodes, seed=seed, max_episode_steps=50, num_envs=num_envs, seed_step=seed_step
    )
    return measure(chunks, gamma=1.0).returns


def test_chunks_are_seeded_and_decorated_for_their_episodes():
    seen = []

    def decorate(env: TransformedEnv, span: slice, chunk_seed: int) -> TransformedEnv:
        seen.append((span, chunk_seed, env.batch_size.numel()))
        return env

    chunks = list(
        play_chunks(None, "mpe_spread", 5, seed=10, max_episode_steps=50, num_envs=2, decorate=decorate, seed_step=100)
    )
    # one env of 2 for every chunk; the last plays both and keeps episode 4 (its span runs past the episodes)
    assert seen == [(slice(0, 2), 10, 2), (slice(2, 4), 110, 2), (slice(4, 6), 210, 2)]
    assert [chunk.first_end.numel() for chunk in chunks] == [2, 2, 1]
    for chunk in chunks:
        assert bool((chunk.first_end == 49).all())  # MPE-Spread: 50 steps, then the episode ends
        assert bool(chunk.alive.all()) and chunk.returns().shape == chunk.first_end.shape
    result = measure(iter(chunks), gamma=1.0)
    assert result.returns.shape == (5,) and result.wins is None
    torch.testing.assert_close(result.discounted, result.returns)  # gamma = 1: the undiscounted return


def test_one_env_is_built_and_transforms_do_not_pile_up(monkeypatch):
    built, chains = [], []

    def counting_make(*args, **kwargs):
        built.append(args[1])  # the batch size
        return make(*args, **kwargs)

    make = episodes_module.make
    monkeypatch.setattr(episodes_module, "make", counting_make)

    def decorate(env: TransformedEnv, span: slice, chunk_seed: int) -> TransformedEnv:
        env.append_transform(InitTracker())
        chains.append([type(t).__name__ for t in env.transform])
        return env

    list(play_chunks(None, "mpe_spread", 7, seed=0, max_episode_steps=50, num_envs=3, decorate=decorate))
    assert built == [3]  # 7 episodes, chunks of 3: one env of 3, built once
    assert len(chains) == 3 and chains[0] == chains[1] == chains[2] == ["RewardSum", "InitTracker"]


def test_same_seed_same_figures_whatever_the_callers_rng():
    torch.manual_seed(1)
    first = _returns(5, seed=3, num_envs=2)
    torch.manual_seed(2)
    torch.rand(10)
    again = _returns(5, seed=3, num_envs=2)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(_returns(5, seed=4, num_envs=2), first)


def test_a_reused_env_plays_each_chunk_as_a_fresh_env_of_its_seed():
    """Chunk i of one evaluation is what a fresh evaluation seeded ``seed + i * seed_step`` plays: reseeding the one
    env leaves nothing of the chunks before (the figures a resumed stage reports equal a run left alone's)."""
    whole = _returns(5, seed=10, num_envs=2)
    for i in range(3):
        alone = _returns(2, seed=10 + 100 * i, num_envs=2)
        torch.testing.assert_close(whole[2 * i : 2 * i + 2], alone[: len(whole[2 * i : 2 * i + 2])], rtol=0, atol=0)


def test_span_rows_pads_past_the_last_episode():
    values = torch.tensor([5, 6, 7])
    assert span_rows(values, slice(0, 2)).tolist() == [5, 6]
    assert span_rows(values, slice(2, 4)).tolist() == [7, 7]


def test_no_episodes_and_no_envs_are_refused():
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        next(play_chunks(None, "mpe_spread", 0, seed=0, max_episode_steps=50, num_envs=4))
    with pytest.raises(ValueError, match="num_envs must be >= 1"):
        next(play_chunks(None, "mpe_spread", 3, seed=0, max_episode_steps=50, num_envs=0))
