"""Settings added after runs were made with the package: a saved config (a run's ``config.yaml``, a reproduction
step's ``step.json``) has no entry for them. At the value listed here, the one that keeps the code's behaviour from
before the setting existed, such a config still names the same run, so a resume or a cached step is not refused.

A new setting whose default changes nothing goes here with that default; one that changes behaviour must not.
"""

from __future__ import annotations

from typing import Any

ADDED: dict[str, Any] = {
    "game.sign_entropy": False,  # eq. 14's sign step without psi_k's entropy bonus, as before (issue 14)
    "game.v0_estimate": "bootstrap",  # eq. 13 with phi(0)'s bootstrap, as before (issue 14)
    "game.constrained_adversary_lr": None,  # psi_k at game.adversary_lr, as before (issue 14)
    "env.detectability_unit": 1.0,  # attack.c in the env's own reward units, as before (issue 14: LBF sets its own)
}


def older(saved: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """``now`` (flat ``a.b.c: value``) without the added settings ``saved`` lacks that hold their old-behaviour
    value: what ``now`` is in the terms of a config saved before they existed."""
    return {key: value for key, value in now.items()
            if not (key not in saved and key in ADDED and value == ADDED[key])}
