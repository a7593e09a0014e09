"""chi's step during collection, run on world-1 envs only: pi0 (world 0) never reads a belief, so the GRU
step there is wasted work (a third of a collection step on MPE). World-0 rows get a zero belief and state."""

from __future__ import annotations

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase

from batpal.nn.belief import (
    BELIEF,
    BELIEF_LOGITS,
    BELIEF_STATE,
    IS_INIT,
    NEXT_BELIEF_STATE,
    OBSERVATION,
    PREV_ACTION,
    BeliefModule,
)


class WorldOneBelief(TensorDictModuleBase):
    """Runs ``belief`` (step mode) on the rows with ``world == 1`` and writes zeros on the others."""

    def __init__(self, belief: BeliefModule) -> None:
        super().__init__()
        self.belief = belief
        self.in_keys = [*belief.in_keys, "world"]
        self.out_keys = list(belief.out_keys)

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        rows = td.get("world") == 1  # [B]
        if bool(rows.all()):
            return self.belief(td)
        obs, prev, state = td.get(OBSERVATION), td.get(PREV_ACTION), td.get(BELIEF_STATE)  # [B, N, ..]
        belief = obs.new_zeros(*obs.shape[:-1], self.belief.out_dim)  # [B, N, D]
        logits, next_state = torch.zeros_like(belief), torch.zeros_like(state)
        if bool(rows.any()):
            sub_logits, sub_state = self.belief.step(obs[rows], prev[rows], state[rows], td.get(IS_INIT)[rows])
            logits[rows], next_state[rows], belief[rows] = sub_logits, sub_state, self.belief.activate(sub_logits)
        td.set(BELIEF_LOGITS, logits)
        td.set(BELIEF, belief)
        td.set(NEXT_BELIEF_STATE, next_state)
        return td
