"""chi runs on world-1 envs only during collection; world-0 envs (pi0, which reads no belief) get zeros."""

from __future__ import annotations

import torch
from tensordict import TensorDict

from batpal.game.world_belief import WorldOneBelief
from batpal.nn.belief import BELIEF, BELIEF_LOGITS, NEXT_BELIEF_STATE, make_belief


def _step_input(world: torch.Tensor) -> TensorDict:
    b, n, obs, act, hidden = world.shape[0], 3, 4, 5, 8
    return TensorDict(
        {
            "agents": TensorDict(
                {
                    "observation": torch.randn(b, n, obs),
                    "prev_action": torch.nn.functional.one_hot(torch.randint(0, act, (b, n)), act).float(),
                    "belief_state": torch.randn(b, n, 1, hidden),
                },
                batch_size=[b, n],
            ),
            "is_init": torch.zeros(b, 1, dtype=torch.bool),
            "world": world,
        },
        batch_size=[b],
    )


def test_world_one_rows_match_the_plain_belief_and_world_zero_rows_are_zero():
    torch.manual_seed(0)
    belief = make_belief(3, 4, 5, n_types=7, hidden=8)
    world = torch.tensor([1, 0, 1, 1, 0])
    td = _step_input(world)
    full = belief(td.clone())
    out = WorldOneBelief(belief)(td.clone())
    rows = world == 1
    for key in (BELIEF, BELIEF_LOGITS, NEXT_BELIEF_STATE):
        torch.testing.assert_close(out[key][rows], full[key][rows])
        assert bool((out[key][~rows] == 0).all()), key
    torch.testing.assert_close(out[BELIEF][rows].sum(-1), torch.ones(3, 3))


def test_all_world_zero_batch_writes_zeros_of_the_right_shape():
    belief = make_belief(3, 4, 5, n_types=7, hidden=8)
    out = WorldOneBelief(belief)(_step_input(torch.zeros(4, dtype=torch.long)))
    assert out[BELIEF].shape == (4, 3, 7) and out[NEXT_BELIEF_STATE].shape == (4, 3, 1, 8)
    assert bool((out[BELIEF] == 0).all())
