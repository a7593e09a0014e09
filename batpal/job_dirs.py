"""Run directories of Hydra multirun jobs: ``<sweep dir>/<the swept overrides>,seed=<seed>``, one valid folder name.

A job's folder is named by the overrides the sweep varies (``game.K=3,seed=1`` for ``-m experiment=mpe_spread
seed=1,2 game.K=3,4``), with the seed always shown; overrides every job shares (``experiment=mpe_spread``, budgets
such as ``adversarial.frames=2e7``, ``ckpt_path=last``) stay out, so rerunning the command with a raised budget or
``ckpt_path=last`` resumes into the same folders. ``batpal.multirun.SweepCallback`` finds the swept keys when the
sweep starts and hands every job an ``override_dirname`` exclude list of the others; ``job_dirname`` then makes
that a folder name, a pure function of the job's config: "/" becomes "_", and a name over the 255-byte limit of
one folder is cut and told apart by a hash of the whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from omegaconf import OmegaConf

RESOLVER = "batpal.job_dir"
MAX_BYTES = 200  # below the usual 255-byte limit of one folder name


def job_dirname(override_dirname: str, seed: object = None) -> str:
    """The overrides (and ``seed=<seed>`` when they do not set it) as one folder name; "/" becomes "_", and a long
    one is cut and given a hash of the whole."""
    parts = [p for p in str(override_dirname).split(",") if p]
    if seed is not None and not any(p.startswith("seed=") for p in parts):
        parts.append(f"seed={seed}")
    name = ",".join(parts).replace("/", "_") or "default"
    raw = name.encode()
    if len(raw) <= MAX_BYTES:
        return name
    digest = hashlib.sha1(raw).hexdigest()[:12]
    return f"{raw[: MAX_BYTES - len(digest) - 1].decode(errors='ignore')}-{digest}"


def swept_keys(task_overrides: Iterable[str], params: Mapping[str, str] | None = None) -> set[str]:
    """The keys a sweep varies: command-line overrides written as sweeps (``a,b``, ``range(...)``, ``choice(...)``,
    ``glob(...)``) and sweeps in ``hydra.sweeper.params``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [*task_overrides, *(f"{k}={v}" for k, v in (params or {}).items())]
    return {o.key_or_group for o in OverridesParser.create().parse_overrides(lines) if o.is_sweep_override()}


def fixed_keys(task_overrides: Iterable[str], params: Mapping[str, str] | None = None) -> list[str]:
    """The keys every job of the sweep sets alike (the others of ``task_overrides`` and ``params``): left out of
    the job folders' names."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [*task_overrides, *(f"{k}={v}" for k, v in (params or {}).items())]
    keys = {o.key_or_group for o in OverridesParser.create().parse_overrides(lines)}
    return sorted(keys - swept_keys(task_overrides, params))


def register_job_dir_resolver() -> None:
    """``${batpal.job_dir:...}`` for ``hydra.sweep.subdir`` in ``configs/fit.yaml``; registering twice is a no-op."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, job_dirname)
