"""Each step's config, composed as its entry point composes it: the command's overrides that the entry point knows,
the step's own, its seed and its run dir, then its budgets (as that composes them) times ``reproduce.scale``.

The command's overrides reach every step that has their key (``env.num_envs`` every one, ``attack.frames`` the
attacks, ``adversarial.frames`` the fits); what the reproduction decides per step (seed, stages, method, defender,
attacks, the attack's kind) is never taken from the command.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from hydra import compose
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from batpal.config.validate import STAGES
from batpal.reproduce.plan import quote
from batpal.reproduce.steps import CONFIG_NAMES, Step
from batpal.resume import FREE as RESUME_FREE
from batpal.resume import flatten

GROUPS = {  # the config groups each entry point's yaml selects (a group override reaches only those)
    "fit": ("env", "model", "trainer", "logger", "experiment"),
    "attack": ("env", "model", "trainer", "logger", "experiment"),
    "evaluate": ("env", "experiment"),
}
RESERVED = ("seed", "seeds", "run_dir", "ckpt_path", "stages", "method", "algo", "defender", "defenders", "attacks",
            "episodes", "overwrite", "victims", "severity", "reproduce", "attack.name", "attack.c")
# not part of a step's identity: where it runs, how it resumes, what it logs (as for batpal.fit's resume); the
# stages a step runs are part of it
FREE = (*(key for key in RESUME_FREE if key != "stages"), "overwrite")
ATTACK_ONLY = ("env.detectability_unit",)  # read by batpal.attack alone
UNREAD = {  # the nodes a step's stage never reads (its inputs' own steps keep theirs)
    "pretrain": ("calibrate", "adversarial", "game", "attack", *ATTACK_ONLY),
    "calibrate": ("pretrain", "adversarial", *ATTACK_ONLY),
    "adversarial": ("pretrain", "calibrate", *ATTACK_ONLY),
    "fit": ATTACK_ONLY,
    "attack": ("pretrain", "calibrate", "adversarial", "game"),
    "evaluate": ("pretrain", "calibrate", "adversarial", "game", "ppo", "model", "trainer", *ATTACK_ONLY),
}
_ABSENT = object()


def forwarded(command: Sequence[str], kind: str, base: DictConfig) -> list[str]:
    """The command's overrides that ``kind``'s entry point knows (its groups, or keys of ``base``, its config)."""
    out = []
    for override in OverridesParser.create().parse_overrides(list(command)):
        key = override.key_or_group
        if override.package or key.startswith("hydra") or _reserved(key) or key == "attack":
            continue
        if "." not in key and key in GROUPS[kind] or OmegaConf.select(base, key, default=_ABSENT) is not _ABSENT:
            out.append(override.input_line)
    return out


def _reserved(key: str) -> bool:
    return any(key == r or key.startswith(r + ".") for r in RESERVED)


def budgets(job: DictConfig, kind: str, scale: float, episodes: int) -> list[str]:
    """The budgets of a step times ``reproduce.scale`` (at least 1), read from the step's own composed config ``job``
    (so a kind's own budget, ``frames`` in configs/attack/dyn2.yaml say, is the one scaled); an evaluation's episodes
    are ``reproduce.episodes`` (the paper's 50) at any scale. Empty where nothing changes."""

    def scaled(value: Any) -> int:
        return max(1, round(float(value) * scale))

    if kind == "evaluate":
        return [f"episodes={scaled(episodes)}"]
    if scale == 1.0:
        return []
    if kind == "fit":
        return [f"{s}.{key}={scaled(job[s][key])}" for s in STAGES for key in ("frames", "eval_episodes")]
    return [f"attack.{key}={scaled(job.attack[key])}" for key in ("frames", "eval_episodes")]


def step_overrides(step: Step, run_dir: Any, command: dict[str, list[str]]) -> list[str]:
    """The overrides that make ``step``'s config before its budgets are scaled (resume keys excepted)."""
    own = [f"seed={step.seed}", f"run_dir={quote(str(run_dir))}"]
    return [*command[step.kind], *step.overrides, *own]


def compose_step(kind: str, overrides: Sequence[str]) -> DictConfig:
    """``configs/<kind>.yaml`` with ``overrides``, as ``python -m batpal.<kind>`` would (Hydra must be initialised)."""
    return compose(CONFIG_NAMES[kind], overrides=list(overrides))


def identity(cfg: DictConfig, kind: str) -> dict[str, Any]:
    """The step's resolved config, flat (``a.b.c: value``), as far as the step reads it: without what may change
    between runs (``FREE``) and the nodes its stage never reads (a pi0 run keeps no ``adversarial.frames``)."""
    stages = list(cfg.get("stages") or []) if kind == "fit" else []
    unread = (*FREE, *UNREAD[stages[0] if len(stages) == 1 else kind])
    flat = {k: v for k, v in flatten(OmegaConf.to_container(cfg, resolve=True)).items()
            if not any(k == u or k.startswith(u + ".") for u in unread)}
    return json.loads(json.dumps(flat, default=str))  # as it reads back from step.json


def digest(flat: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every setting that differs."""
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r}" for k in keys if old.get(k) != new.get(k)]
