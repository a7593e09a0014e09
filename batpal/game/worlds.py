"""World split and per-episode type draw: a TorchRL transform writing ``type / victim / severity / world``.

Each env lives in one world for its lifetime: world 1 (POMDP1, the learning team pi_omega) or world 0
(POMDP0, the frozen reference policy pi0; only adversarial types, it measures V(0) for eq. 13). At every
reset of an env a type z is drawn from the prior (world-0 envs: the prior conditioned on z != 0) and
held until the episode ends (section 3; Algorithm 1 draws per iteration: ``set_fixed_type``).
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDictBase
from torchrl.data import Bounded, Categorical, Composite
from torchrl.envs import Transform

GAME_KEYS = ("type", "victim", "severity", "world")


class TypeAssignment(Transform):
    """Draws z at each env's reset from ``prior`` (world 1) or ``prior`` restricted to z != 0 (world 0).

    ``n_sets`` is the number of victim sets of the type space (``TypeSpace.n_sets``: N for a single victim);
    ``victim`` is written as the victim-set index (the agent itself for a single victim), -1 when benign.
    """

    def __init__(self, prior: torch.Tensor, n_sets: int, K: int, world: torch.Tensor, seed: int) -> None:
        super().__init__(in_keys=[], out_keys=list(GAME_KEYS))
        if prior.numel() != 1 + n_sets * K:
            raise ValueError(f"prior has {prior.numel()} entries; |Z| = 1 + n_sets*K = {1 + n_sets * K}.")
        self.n_sets, self.K = n_sets, K
        adversarial = prior.clone()
        adversarial[0] = 0.0
        if float(adversarial.sum()) <= 0:
            raise ValueError("the prior gives no mass to adversarial types; world 0 needs them.")
        self.register_buffer("prior_world1", prior / prior.sum())
        self.register_buffer("prior_world0", adversarial / adversarial.sum())
        self.register_buffer("world", world.long().clone())  # [B]
        self.register_buffer("current", torch.zeros_like(self.world))  # [B] type index per env
        self.register_buffer("fixed", torch.tensor(-1))  # >= 0: every reset takes this type (per-rollout mode)
        self.generator = torch.Generator(device=world.device).manual_seed(seed)

    # -- the draw ------------------------------------------------------------------------------------
    def set_fixed_type(self, type_index: int | None) -> None:
        """Per-rollout mode (Algorithm 1, line 5): from now on every reset takes ``type_index``; None: prior."""
        self.fixed.fill_(-1 if type_index is None else int(type_index))

    def _draw(self, reset: torch.Tensor) -> None:
        n = self.world.numel()
        from_w1 = torch.multinomial(self.prior_world1, n, replacement=True, generator=self.generator)
        from_w0 = torch.multinomial(self.prior_world0, n, replacement=True, generator=self.generator)
        drawn = torch.where(self.world == 1, from_w1, from_w0)  # [B]
        if int(self.fixed) >= 0:
            fixed = torch.full_like(drawn, int(self.fixed))
            drawn = torch.where((self.world == 0) & (fixed == 0), drawn, fixed)  # world 0 keeps z != 0
        self.current.copy_(torch.where(reset, drawn, self.current))

    def _write(self, td: TensorDictBase) -> TensorDictBase:
        z = self.current
        td.set("type", z.clone())
        td.set("victim", torch.where(z > 0, (z - 1) // self.K, torch.full_like(z, -1)))
        td.set("severity", torch.where(z > 0, (z - 1) % self.K + 1, torch.zeros_like(z)))
        td.set("world", self.world.clone())
        return td

    # -- Transform hooks -----------------------------------------------------------------------------
    def _reset(self, tensordict: TensorDictBase, tensordict_reset: TensorDictBase) -> TensorDictBase:
        reset = tensordict.get("_reset", None) if tensordict is not None else None
        mask = torch.ones_like(self.world, dtype=torch.bool) if reset is None else reset.reshape(-1).bool()
        self._draw(mask)
        return self._write(tensordict_reset)

    def _call(self, next_tensordict: TensorDictBase) -> TensorDictBase:
        return self._write(next_tensordict)  # constant within an episode

    def transform_observation_spec(self, observation_spec: Composite) -> Composite:
        shape = observation_spec.shape
        size = 1 + self.n_sets * self.K
        observation_spec["type"] = Categorical(size, shape=shape, dtype=torch.long, device=observation_spec.device)
        observation_spec["victim"] = Bounded(  # -1 for the benign type
            low=-1, high=self.n_sets - 1, shape=shape, dtype=torch.long, device=observation_spec.device
        )
        observation_spec["severity"] = Categorical(
            self.K + 1, shape=shape, dtype=torch.long, device=observation_spec.device
        )
        observation_spec["world"] = Categorical(2, shape=shape, dtype=torch.long, device=observation_spec.device)
        return observation_spec

    def get_extra_state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
