"""The cache of a step's run dir: ``step.json`` (its config, written before it runs) and ``done.json`` (written by
the job when it finished). A rerun skips a done step whose config and inputs are the command's, and refuses, before
any compute, a step whose config differs or whose inputs were recomputed since.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from batpal.atomic import write_text_atomic
from batpal.config.added import older
from batpal.reproduce.configs import differences, digest

STEP_FILE = "step.json"
DONE_FILE = "done.json"
ROOT = "<reproduction>"  # a path inside the reproduction's dir, as step.json keeps it: the dir may move


def portable(value: Any, root: Path) -> Any:
    """``value`` (a step's flat config) with every path inside ``root`` written from ``ROOT``, so that a run dir
    committed to git or copied elsewhere still matches its command there."""
    if isinstance(value, str):
        return ROOT if value == str(root) else value.replace(f"{root}/", f"{ROOT}/")
    if isinstance(value, list):
        return [portable(v, root) for v in value]
    if isinstance(value, dict):
        return {k: portable(v, root) for k, v in value.items()}
    return value


def _root(run_dir: Path) -> Path:
    return Path(run_dir).resolve().parent.parent  # run dirs are <root>/seed<k>/<name>


def _saved_config(saved: dict[str, Any] | None, run_dir: Path) -> dict[str, Any] | None:
    """step.json's config in portable form (one written before ``ROOT`` kept its paths absolute)."""
    return None if saved is None else portable(saved["config"], _root(run_dir))


class StaleStepError(ValueError):
    """A cached step that does not belong to this command: another config, or inputs recomputed since."""


def read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def done_id(run_dir: Path) -> str | None:
    """The id of the step's finished result, None while it is not done."""
    done = read(run_dir / DONE_FILE)
    return None if done is None else str(done["id"])


def check(key: str, run_dir: Path, config: dict[str, Any], inputs: dict[str, str | None]) -> bool:
    """True when the step is done with this config and these inputs; False when it has to run; raises when its run
    dir holds another config's step (done or not) or a result computed from other inputs."""
    saved, done = read(run_dir / STEP_FILE), read(run_dir / DONE_FILE)
    stored, config = _saved_config(saved, run_dir), portable(config, _root(run_dir))
    if stored is not None:  # a step saved before a setting was added: compared without it (batpal.config.added)
        config = older(stored, config)
    if stored is not None and stored != config:
        raise StaleStepError(
            f"step {key} in {run_dir} was run with another config than this command gives it; rerun with the "
            "same command, or remove that directory (or choose another run_dir) to recompute it. Differences "
            "(cached -> now):\n  " + "\n  ".join(differences(stored, config))
        )
    if done is None:
        return False
    if saved is None or done.get("config") != digest(saved["config"]):
        raise StaleStepError(f"step {key} in {run_dir} is marked done but its {STEP_FILE} is missing or another; "
                             "remove that directory to recompute it.")
    changed = [name for name, ident in inputs.items() if done["inputs"].get(name) != ident]
    if changed:
        raise StaleStepError(
            f"step {key} in {run_dir} was computed from other results of {', '.join(changed)} than those now "
            "there (recomputed or removed since); remove that directory to recompute it from them."
        )
    return True


def write_step(key: str, kind: str, run_dir: Path, config: dict[str, Any], inputs: dict[str, str | None]) -> None:
    """``step.json`` before the step runs: what it is, its config and the ids of the results it reads."""
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"step": key, "kind": kind, "config": portable(config, _root(run_dir)), "inputs": inputs}
    write_text_atomic(run_dir / STEP_FILE, json.dumps(payload, indent=1, sort_keys=True))


def expect(run_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """``step.json`` of ``run_dir``, if ``config`` (what a job is about to run) is what it planned; raises else
    (e.g. the configs or the code's defaults were edited between planning and the job's start)."""
    saved = read(run_dir / STEP_FILE)
    stored, config = _saved_config(saved, run_dir), portable(config, _root(run_dir))
    if stored is not None:
        config = older(stored, config)
    if saved is None or stored != config:
        found = "no step.json" if saved is None else "\n  ".join(differences(stored, config))
        raise RuntimeError(f"the job in {run_dir} composed another config than its step planned: {found}")
    return saved


def mark_done(run_dir: Path, config: dict[str, Any], stamp: dict[str, Any] | None = None) -> str:
    """``done.json`` once the step finished with ``config``, the planned one, with ``stamp`` (its wall-clock,
    commit and machine: ``batpal.reproduce.provenance``); returns the result's id."""
    saved = expect(run_dir, config)
    ident = uuid.uuid4().hex
    done = {"id": ident, "config": digest(saved["config"]), "inputs": saved["inputs"], "finished": time.time(),
            **(stamp or {})}
    write_text_atomic(run_dir / DONE_FILE, json.dumps(done, indent=1, sort_keys=True))
    return ident
