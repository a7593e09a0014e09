"""What pi_omega sees as its belief input: chi's belief, the true type (teacher forcing, Perfect Belief) or
zeros (No Belief); section 4.2 and the ablations of section 5.2."""

from __future__ import annotations

from typing import Literal

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase

from batpal.game.types import TypeSpace
from batpal.objectives.belief import mix_belief

AGENTS = "agents"
BeliefSource = Literal["belief", "true", "none"]


class PolicyBeliefInput(TensorDictModuleBase):
    """Writes ``("agents", "policy_belief")`` [B, N, D]; with prob ``teacher_forcing`` per env, the true type."""

    def __init__(self, space: TypeSpace, mode: str = "softmax", source: BeliefSource = "belief", seed: int = 0):
        super().__init__()
        if source not in ("belief", "true", "none"):
            raise ValueError(f"unknown belief source {source!r}; known: belief, true, none.")
        self.space, self.mode, self.source = space, mode, source
        self.teacher_forcing = 0.0  # set by the module from the schedule before each collection
        self.generator = torch.Generator().manual_seed(seed)
        self.in_keys = [(AGENTS, "belief"), "type"] if source == "belief" else ["type"]
        self.out_keys = [(AGENTS, "policy_belief")]

    def true_belief(self, type_idx: torch.Tensor) -> torch.Tensor:
        """The true type in the belief's own form: one-hot over Z (softmax) or victim ++ severity (sigmoid)."""
        return self.space.one_hot(type_idx) if self.mode == "softmax" else self.space.factored(type_idx)

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        z = td.get("type")  # [B]
        truth = self.true_belief(z).unsqueeze(-2).expand(*z.shape, self.space.n_agents, -1)  # [B, N, D]
        if self.source == "none":
            value = torch.zeros_like(truth)
        elif self.source == "true":
            value = truth
        else:
            value = mix_belief(td.get((AGENTS, "belief")), truth, self.teacher_forcing, self.generator)
        td.set((AGENTS, "policy_belief"), value.detach())
        return td
