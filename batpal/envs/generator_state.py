"""Mixin for batched torch simulators: all their randomness comes from ``self._generator``, seeded by TorchRL's
``set_seed``, and its state travels in ``state_dict()``."""

from __future__ import annotations

import torch


class GeneratorState:
    """Saves ``self._generator`` as extra state, so a restored env draws the same future resets."""

    _generator: torch.Generator

    def _set_seed(self, seed: int | None) -> None:
        """Seed the env's own generator (every reset draw comes from it); None draws a fresh seed."""
        if seed is None:
            self._generator.seed()
        else:
            self._generator.manual_seed(int(seed))

    def get_extra_state(self) -> dict[str, torch.Tensor]:
        return {"generator": self._generator.get_state()}

    def set_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        self._generator.set_state(state["generator"].cpu())
