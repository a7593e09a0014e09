"""Per-episode victim draw for attack training: a TorchRL transform that picks a new victim at every reset.

``Defender.decorate`` fixes one victim per env for its lifetime (``FixedVictims``, made for evaluation). An RL
attack must learn to play every agent's slot, so this transform, appended after ``decorate``, draws the victim
uniformly over the agents whenever an env resets and overwrites ``victim`` at every step. Where the defender's
transforms also carry the type (a BATPAL-family defender: ``type``, ``severity``), the type is rewritten to
(new victim, same severity) so that every key describing the episode agrees. Its generator is part of the
transform's state, so a checkpointed run redraws exactly the same victims after a resume.
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDictBase
from torchrl.data import Bounded, Composite
from torchrl.envs import Transform

from batpal.game.types import TypeSpace


class VictimDraw(Transform):
    """``victim`` [B] uniform over ``n_agents`` at each env's reset, constant within the episode."""

    def __init__(
        self, n_agents: int, num_envs: int, seed: int, K: int | None = None, device: str | torch.device = "cpu"
    ) -> None:
        super().__init__(in_keys=[], out_keys=["victim"] if K is None else ["victim", "type"])
        self.n_agents, self.K = int(n_agents), K
        self.space = TypeSpace(self.n_agents, K) if K is not None else None
        self.register_buffer("current", torch.zeros(int(num_envs), dtype=torch.long, device=device))  # [B] victims
        self.generator = torch.Generator().manual_seed(int(seed))

    @classmethod
    def for_defender(cls, defender: Any, num_envs: int, seed: int, device: str | torch.device = "cpu") -> VictimDraw:
        """The draw over ``defender.n_agents`` agents, rewriting the type where the defender has one (its ``K``)."""
        return cls(defender.n_agents, num_envs, seed, getattr(defender, "K", None), device)

    def _draw(self, reset: torch.Tensor) -> None:
        drawn = torch.randint(0, self.n_agents, self.current.shape, generator=self.generator)  # [B], on CPU
        self.current.copy_(torch.where(reset.to(self.current.device), drawn.to(self.current.device), self.current))

    def _write(self, td: TensorDictBase) -> TensorDictBase:
        td.set("victim", self.current.clone())
        if self.space is not None and "severity" in td.keys():
            severity = td.get("severity")  # [B] fixed by the defender's transform
            td.set("type", self.space.type_index(self.current, severity))
        return td

    def _reset(self, tensordict: TensorDictBase, tensordict_reset: TensorDictBase) -> TensorDictBase:
        reset = tensordict.get("_reset", None) if tensordict is not None else None
        mask = torch.ones_like(self.current, dtype=torch.bool) if reset is None else reset.reshape(-1).bool()
        self._draw(mask)
        return self._write(tensordict_reset)

    def _call(self, next_tensordict: TensorDictBase) -> TensorDictBase:
        return self._write(next_tensordict)  # constant within an episode

    def transform_observation_spec(self, observation_spec: Composite) -> Composite:
        shape, device = observation_spec.shape, observation_spec.device
        observation_spec["victim"] = Bounded(-1, self.n_agents - 1, shape=shape, dtype=torch.long, device=device)
        return observation_spec

    def get_extra_state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
