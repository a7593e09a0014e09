"""LBF frames drawn from our batched env's state: one per state, the victim's disc in its own colour."""

from __future__ import annotations

import numpy as np
import torch
from tensordict import TensorDict

from batpal.envs.lbf_batched import make_lbf_authors
from batpal.render import lbf
from batpal.render.recording import Recording


def _disc_colour(frame: np.ndarray, row: int, col: int, cell: float) -> tuple[int, ...]:
    """The colour of a player's disc at cell (row, col), off its centre (where the level is written)."""
    left, top, right, bottom = lbf.cell_box(row, col, cell)
    x, y = (left + right) / 2 + 0.25 * cell, (top + bottom) / 2
    return tuple(int(c) for c in frame[int(y), int(x)])


def test_victim_drawn_in_its_own_colour():
    env = make_lbf_authors(num_envs=1, seed=3, device=torch.device("cpu"))
    env.reset()
    state = lbf.snapshot(env)
    rows, cols, size = env.rows, env.cols, 200
    frame = lbf.draw_state(state, (2,), rows, cols, size)
    cell = lbf.cell_size(rows, cols, size)
    assert frame.shape == (200, 200, 3) and frame.dtype == np.uint8
    pos = state["player_pos"]
    alone = [i for i in range(env.n_agents) if (pos == pos[i]).all(-1).sum() == 1]  # no other player on its cell
    assert 2 in alone and len(alone) >= 3
    colours = {i: _disc_colour(frame, *pos[i], cell) for i in alone}
    assert colours[2] == lbf.VICTIM
    assert all(colours[i] == lbf.AGENT for i in alone if i != 2)
    unmarked = lbf.draw_state(state, (), rows, cols, size)
    assert _disc_colour(unmarked, *pos[2], cell) == lbf.AGENT
    food = np.argwhere(state["field"] > 0)
    assert len(food) > 0
    left, top, _, _ = lbf.cell_box(*food[0], cell)
    assert tuple(frame[int(top + 0.25 * cell), int(left + 0.25 * cell)]) == lbf.FOOD


def test_frames_follow_the_recorded_states():
    env = make_lbf_authors(num_envs=1, seed=0, device=torch.device("cpu"), field_size=(6, 9), players=3, max_num_food=3)
    env.reset()
    states, actions = [lbf.snapshot(env)], []
    gen = torch.Generator().manual_seed(0)
    for _ in range(6):
        action = torch.randint(1, 5, (1, 3), generator=gen)  # moves only
        env.step(TensorDict({"agents": {"action": action}}, batch_size=[1]))
        states.append(lbf.snapshot(env))
        actions.append(action[0].numpy())
    rec = Recording(states, np.stack(actions), (0,), 0.0, lbf.meta(env))
    frames = lbf.frames(rec, 180)
    assert len(frames) == 7 and frames[0].shape == (120, 180, 3)  # 6 x 9 cells of 20 px
    cell = lbf.cell_size(6, 9, 180)
    for frame, state in zip(frames, states, strict=True):
        assert _disc_colour(frame, *state["player_pos"][0], cell) == lbf.VICTIM  # the victim, wherever it went
    moved = [not np.array_equal(a["player_pos"], b["player_pos"]) for a, b in zip(states[:-1], states[1:], strict=True)]
    assert any(moved)
