"""mpe2's replay of our MPE-Spread episode: the same agent positions step by step, and the victims drawn red."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from batpal.envs.mpe import MPESpreadEnv
from batpal.render import mpe
from batpal.render.recording import Recording

pytestmark = pytest.mark.filterwarnings("ignore")

N = 3


def _episode(agent_pos: torch.Tensor | None, seed: int, victims: tuple[int, ...] = (), steps: int = 50) -> Recording:
    """A 50-step episode of our port (float32, as evaluations run it) under random actions, recorded."""
    env = MPESpreadEnv(num_envs=1, n_agents=N, seed=seed)
    env.reset()
    if agent_pos is not None:
        env.set_positions(agent_pos.unsqueeze(0), env.landmark_pos.clone())  # the property is a view
    gen = torch.Generator().manual_seed(seed)
    states, actions = [mpe.snapshot(env)], []
    for _ in range(steps):
        action = torch.randint(0, 5, (1, N), generator=gen)  # [1, N]
        env.step(TensorDict({"agents": {"action": action}}, batch_size=[1]))
        states.append(mpe.snapshot(env))
        actions.append(action[0].numpy())
    return Recording(states, np.stack(actions), victims, 0.0, mpe.meta(env))


@pytest.mark.parametrize(
    "start",
    [None, torch.tensor([[0.0, 0.0], [0.1, 0.05], [0.12, -0.02]])],  # a random start; three agents overlapping
    ids=["random", "overlapping"],
)
def test_mpe2_positions_equal_ours_every_step(start):
    for seed in range(3):
        rec = _episode(start, seed)
        frames, positions = mpe.replay(rec, render=False)
        assert frames == [] and positions.shape == (51, N, 2)
        ours = np.stack([s["agent_pos"] for s in rec.states])
        assert np.abs(ours[-1] - ours[0]).max() > 0.1  # the agents did move
        np.testing.assert_allclose(positions, ours, rtol=0, atol=1e-4)  # float32 against mpe2's float64
        assert mpe.drift(rec, positions) < mpe.DRIFT_TOL


def test_frames_drawn_by_mpe2_with_the_victim_red():
    red = np.round(mpe.VICTIM_COLOUR * 200)

    def red_pixels(frame: np.ndarray) -> int:
        return int((np.abs(frame.astype(int) - red).max(-1) <= 2).sum())

    plain, marked = mpe.frames(_episode(None, 0, (), steps=5), 160), mpe.frames(_episode(None, 0, (1,), steps=5), 160)
    assert len(marked) == 6 and marked[0].shape == (160, 160, 3) and marked[0].dtype == np.uint8
    assert red_pixels(plain[0]) == 0
    assert all(red_pixels(frame) > 50 for frame in marked)  # a disc of radius ~10 px at 160 px


def test_a_replay_that_leaves_our_episode_is_refused():
    rec = _episode(None, 1, steps=5)
    rec.states[3]["agent_pos"] = rec.states[3]["agent_pos"] + 0.01  # as if mpe2 stepped other dynamics
    with pytest.raises(RuntimeError, match="mpe2's replay of the episode left ours"):
        mpe.frames(rec, 64)
