"""A run's identity and what a resume may change: nothing but budgets and logging, and only with its own checkpoint.

A fresh run writes ``<run dir>/run.json`` (a random run id); every checkpoint carries that id and its stage kind.
Resuming (``ckpt_path``) is refused, before anything is written, when the checkpoint belongs to another run or to
another kind of stage, or when the config differs from the run's ``config.yaml`` in anything else than budgets
(``<stage>.frames``, ``<stage>.eval_episodes``), the stages to run, logging, and the machine's process cap
(``env.max_processes``).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from batpal.atomic import write_text_atomic
from batpal.config.added import older
from batpal.safe_load import load_weights

RUN_FILE = "run.json"
BUDGETS = ("frames", "eval_episodes")
FREE = ("ckpt_path", "run_dir", "stages", "logger", "callbacks", "trainer.enable_progress_bar",
        "trainer.log_every_n_steps", "trainer.enable_model_summary", "trainer.profiler",
        "env.max_processes")  # a machine's limit, not a setting of the run


def launching_rank() -> bool:
    """True in the process a user started (not in a DDP worker that Lightning launched for ranks > 0)."""
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def run_id(run_dir: str | Path) -> str | None:
    path = Path(run_dir) / RUN_FILE
    return json.loads(path.read_text())["run_id"] if path.is_file() else None


def new_run(run_dir: str | Path) -> str:
    """A fresh run's id, written to ``run.json``."""
    identity = uuid.uuid4().hex
    write_text_atomic(Path(run_dir) / RUN_FILE, json.dumps({"run_id": identity}))
    return identity


def check_resume(cfg: DictConfig, run_dir: Path, ckpt_path: Path, kinds: tuple[str, ...]) -> str:
    """The run id to go on with; raises if ``ckpt_path`` is not this run's, not of ``kinds``, or the config changed."""
    state = load_weights(ckpt_path, "checkpoint")["rollout_state"]
    owner, kind, mine = state.get("run_id"), state.get("stage"), run_id(run_dir)
    if kind not in kinds:
        raise ValueError(f"checkpoint {ckpt_path} was written by a {kind!r} stage; this command resumes only "
                         f"{', '.join(kinds)} stages.")
    if mine is None or owner != mine:
        raise ValueError(f"checkpoint {ckpt_path} belongs to another run (run id {owner}) than {run_dir} (run id "
                         f"{mine}): a run resumes only from its own checkpoints.")
    saved = run_dir / "config.yaml"
    if saved.is_file():
        differences = config_differences(OmegaConf.load(saved), cfg)
        if differences:
            raise ValueError(f"resuming {run_dir} with a config that differs from the run's in more than budgets and "
                             "logging; start a new run (another hydra.run.dir) instead. Differences (run's -> now):\n  "
                             + "\n  ".join(differences))
    return mine


def config_differences(saved: DictConfig, now: DictConfig) -> list[str]:
    """``key: old -> new`` for every setting that differs, budgets and logging left out (and settings added since
    the run was saved, at their old-behaviour value: ``batpal.config.added``)."""
    old, new = flatten(OmegaConf.to_container(saved, resolve=True)), flatten(OmegaConf.to_container(now, resolve=True))
    new = older(old, new)
    out = []
    for key in sorted(set(old) | set(new)):
        if _free(key) or old.get(key, "<absent>") == new.get(key, "<absent>"):
            continue
        out.append(f"{key}: {old.get(key, '<absent>')!r} -> {new.get(key, '<absent>')!r}")
    return out


def _free(key: str) -> bool:
    parts = key.split(".")
    if len(parts) == 2 and parts[1] in BUDGETS:  # pretrain.frames, attack.eval_episodes, ...
        return True
    return any(key == free or key.startswith(free + ".") for free in FREE)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"a.b.c": value}`` (an empty node stays one entry)."""
    if isinstance(tree, dict) and tree:
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: tree}
