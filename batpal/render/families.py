"""Which envs can be rendered, and by which renderer module (imported only when a video is made)."""

from __future__ import annotations

import importlib
from types import ModuleType

# env name -> module with ``snapshot(base_env)``, ``meta(base_env)`` and ``frames(recording, size)``
RENDERERS: dict[str, str] = {
    "mpe_spread": "batpal.render.mpe",
    "lbf": "batpal.render.lbf",
    "lbf_released": "batpal.render.lbf",
}


def check_render_env(name: str) -> None:
    """Refuse ``render=true`` on an env without a renderer (SMAC, the python reference envs), naming the setting."""
    if name not in RENDERERS:
        raise ValueError(
            f"render=true draws videos of {', '.join(RENDERERS)} only, not env {name!r}; set render=false."
        )


def renderer(name: str) -> ModuleType:
    """The renderer module of env ``name``."""
    check_render_env(name)
    return importlib.import_module(RENDERERS[name])
