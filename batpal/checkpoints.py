"""Resolve ``ckpt_path`` (a file or "last") and reject a missing or corrupt checkpoint, or one holding more than
plain data (``batpal.safe_load``), before compute."""

from __future__ import annotations

from pathlib import Path

import torch

from batpal.safe_load import load_weights

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
    state = load_weights(path, "checkpoint")  # data only, before Lightning reads it (also with weights_only)
    if not isinstance(state, dict) or "state_dict" not in state or not isinstance(state.get("rollout_state"), dict):
        raise ValueError(f"checkpoint {path} is not a batpal Lightning checkpoint.")
    if any(isinstance(state["rollout_state"].get(key), torch.Tensor) for key in ("sim", "transforms")):
        raise ValueError(
            f"checkpoint {path} was written by an older batpal that stored the env state pickled inside a tensor; "
            "it cannot be resumed without unpickling that (which could run code): start the stage afresh."
        )
    return path


def checkpoint_stage(path: Path) -> str:
    """The stage (pretrain, calibrate, adversarial) that wrote checkpoint ``path``."""
    state = load_weights(path, "checkpoint")
    return str(state["rollout_state"].get("stage", "pretrain"))
