"""alpha of eq. 16, the adversaries' learning rate: one for the severity-constrained psi_k of BATPAL and its
variants (``game.constrained_adversary_lr``, when set), another for the unconstrained worst cases of EIR-MAPPO,
Gen-Maxmin, RAP and calibrate (``game.adversary_lr``, the paper's 5e-4 in every environment, appendix E.2)."""

from __future__ import annotations

from typing import Any


def alpha(game: Any) -> float:
    """The learning rate of ``game``'s adversaries psi_k (a ``GameConfig`` or its DictConfig)."""
    own = game.constrained_adversary_lr
    return float(own if game.constrained and own is not None else game.adversary_lr)
