"""Mixin for batched torch simulators: their ``torch.Generator`` state travels in ``state_dict()``."""

from __future__ import annotations

import torch


class GeneratorState:
    """Saves ``self._generator`` as extra state, so a restored env draws the same future resets."""

    _generator: torch.Generator

    def get_extra_state(self) -> dict[str, torch.Tensor]:
        return {"generator": self._generator.get_state()}

    def set_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        self._generator.set_state(state["generator"].cpu())
