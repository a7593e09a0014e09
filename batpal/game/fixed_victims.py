"""A fixed victim per env for evaluation: writes ``victim`` (and, for a game defender, the type keys) every step.

Evaluation fixes who is attacked instead of drawing it from the prior: env b attacks agent ``victim[b]``
(-1: no attack) for its whole life; with ``victims = m > 1`` ``victim[b]`` is a victim-set index of
``TypeSpace(n_agents, K, m).sets``. A BATPAL-family team also reads ``type / severity / world``; there the
episode plays in world 1 with the type (v, ``severity``), whose psi_k action is then replaced by the attack.
"""

from __future__ import annotations

import torch
from tensordict import TensorDictBase
from torchrl.data import Bounded, Categorical, Composite
from torchrl.envs import Transform

from batpal.game.types import TypeSpace


class FixedVictims(Transform):
    """Constant per-env ``victim`` [B] long (a victim-set index when ``victims`` > 1); with ``K`` also ``type``,
    ``severity`` and ``world`` (= 1)."""

    def __init__(
        self, victim: torch.Tensor, n_agents: int, K: int | None = None, severity: int = 1, victims: int = 1
    ) -> None:
        keys = ["victim"] if K is None else ["victim", "type", "severity", "world"]
        super().__init__(in_keys=[], out_keys=keys)
        space = TypeSpace(n_agents, K or 1, victims)
        victim = victim.long().reshape(-1)
        if victim.numel() and (int(victim.min()) < -1 or int(victim.max()) >= space.n_sets):
            what = "victims" if victims == 1 else f"victim sets of {victims} agents"
            raise ValueError(f"{what} must lie in -1..{space.n_sets - 1}, got {sorted(set(victim.tolist()))}.")
        self.n_agents, self.K, self.space = n_agents, K, space
        self.register_buffer("fixed_victim", victim.clone())  # [B]
        if K is not None:
            if not 1 <= severity <= K:
                raise ValueError(f"severity must lie in 1..K = 1..{K}, got {severity}.")
            k = torch.where(victim >= 0, severity, 0)  # [B]
            self.register_buffer("fixed_severity", k)
            self.register_buffer("fixed_type", space.type_index(victim.clamp(min=0), k))
            self.register_buffer("fixed_world", torch.ones_like(victim))

    def _write(self, td: TensorDictBase) -> TensorDictBase:
        for key in self.out_keys:
            td.set(key, getattr(self, f"fixed_{key}").clone())
        return td

    def _reset(self, tensordict: TensorDictBase, tensordict_reset: TensorDictBase) -> TensorDictBase:
        return self._write(tensordict_reset)

    def _call(self, next_tensordict: TensorDictBase) -> TensorDictBase:
        return self._write(next_tensordict)

    def transform_observation_spec(self, observation_spec: Composite) -> Composite:
        shape, device = observation_spec.shape, observation_spec.device
        observation_spec["victim"] = Bounded(
            low=-1, high=self.space.n_sets - 1, shape=shape, dtype=torch.long, device=device
        )
        if self.K is not None:
            observation_spec["type"] = Categorical(self.space.size, shape=shape, dtype=torch.long, device=device)
            observation_spec["severity"] = Categorical(self.K + 1, shape=shape, dtype=torch.long, device=device)
            observation_spec["world"] = Categorical(2, shape=shape, dtype=torch.long, device=device)
        return observation_spec
