"""Stage artefacts in the run directory: the reference policy pi0 saved and loaded as a frozen actor."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torchrl.modules import ProbabilisticActor

from batpal.atomic import save_weights
from batpal.nn import make_actor
from batpal.safe_load import load_weights

AGENTS = "agents"
REFERENCE_POLICY = "pi0.pt"


def save_reference_policy(
    path: str | Path, actor: ProbabilisticActor, env_name: str, dims: dict[str, int], model: Mapping[str, Any]
) -> None:
    """Writes pi0's weights with what is needed to rebuild it (env, sizes, widths, activation), atomically."""
    payload = {
        "env": str(env_name),
        "dims": {str(k): int(v) for k, v in dims.items()},
        "hidden": [int(h) for h in model["hidden"]],
        "activation": str(model["activation"]),
        "state_dict": actor.state_dict(),
    }
    save_weights(payload, path, "reference policy")


def load_reference_policy(path: str | Path, device: str | torch.device = "cpu") -> tuple[ProbabilisticActor, dict]:
    """The frozen pi0 (no gradients) and its metadata; a clear error for a missing or corrupt file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"reference policy {path} does not exist; run the pretrain stage first.")
    payload: dict[str, Any] = load_weights(path, "reference policy", map_location=device)  # data only, never code
    try:
        dims = payload["dims"]
        actor = make_actor(
            [(AGENTS, "observation")],
            dims["obs_dim"],
            dims["n_agents"],
            dims["n_actions"],
            payload["hidden"],
            payload["activation"],
        )
        actor.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as err:
        raise ValueError(f"reference policy {path} is corrupt or incompatible: {err}") from err
    actor.requires_grad_(False)
    meta = {"env": payload["env"], "dims": dims, "hidden": payload["hidden"], "activation": payload["activation"]}
    return actor.to(device), meta
