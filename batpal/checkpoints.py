"""Resolve ``ckpt_path`` (a file or "last") and reject a missing or corrupt checkpoint before compute."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

LAST = "last.ckpt"


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def resolve_checkpoint(ckpt_path: str | None, run_dir: str | Path) -> Path | None:
    """None -> fresh run (refused if the run dir already holds a checkpoint); "last" -> the run dir's last."""
    last = checkpoint_dir(run_dir) / LAST
    if ckpt_path in (None, ""):
        if last.exists():
            raise FileExistsError(
                f"{last} exists: pass ckpt_path=last to resume this run, or choose another hydra.run.dir."
            )
        return None
    path = last if ckpt_path == "last" else Path(ckpt_path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist (ckpt_path={ckpt_path!r}).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"checkpoint {path} is corrupt and cannot be loaded: {err}") from err
    if not isinstance(state, dict) or "state_dict" not in state or "rollout_state" not in state:
        raise ValueError(f"checkpoint {path} is not a batpal Lightning checkpoint.")
    return path


def checkpoint_stage(path: Path) -> str:
    """The stage (pretrain, calibrate, adversarial) that wrote checkpoint ``path``."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    return str(state["rollout_state"].get("stage", "pretrain"))
