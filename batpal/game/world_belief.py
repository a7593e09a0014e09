"""chi's step during collection, run on world-1 envs only: pi0 (world 0) never reads a belief, so the GRU
step there is wasted work (a third of a collection step on MPE). World-0 rows get a zero belief and state."""

from __future__ import annotations

from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase

from batpal.nn.belief import BELIEF, BELIEF_LOGITS, NEXT_BELIEF_STATE, OBSERVATION, BeliefModule


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
        obs = td.get(OBSERVATION)  # [B, N, obs]
        b, n = rows.shape[0], self.belief.n_agents
        shapes = {
            BELIEF_LOGITS: (b, n, self.belief.out_dim),
            BELIEF: (b, n, self.belief.out_dim),
            NEXT_BELIEF_STATE: (b, n, self.belief.rnn.gru.num_layers, self.belief.hidden),
        }
        sub = self.belief(td.select(*self.belief.in_keys)[rows]) if bool(rows.any()) else None
        for key, shape in shapes.items():
            full = obs.new_zeros(shape)
            if sub is not None:
                full[rows] = sub.get(key)
            td.set(key, full)
        return td
