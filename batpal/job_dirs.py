"""Run directories of Hydra multirun jobs: ``<sweep dir>/<the job's overrides>``, always one valid folder name.

Hydra's ``override_dirname`` names a job by its overrides (``experiment=mpe_spread,game.K=3,seed=1``): readable,
and the same command gives the same folders, so a sweep can be extended with more seeds into the same sweep
dir. Two things break it: a "/" in a value nests folders, and twenty-odd overrides exceed the 255-byte name
limit (``OSError: File name too long``). ``job_dirname`` fixes both and stays a pure function of the overrides.
"""

from __future__ import annotations

import hashlib

from omegaconf import OmegaConf

RESOLVER = "batpal.job_dir"
MAX_BYTES = 200  # below the usual 255-byte limit of one folder name


def job_dirname(override_dirname: str) -> str:
    """The overrides as a folder name; "/" becomes "_", and a long one is cut and given a hash of the whole."""
    name = str(override_dirname).replace("/", "_") or "default"
    raw = name.encode()
    if len(raw) <= MAX_BYTES:
        return name
    digest = hashlib.sha1(raw).hexdigest()[:12]
    return f"{raw[: MAX_BYTES - len(digest) - 1].decode(errors='ignore')}-{digest}"


def register_job_dir_resolver() -> None:
    """``${batpal.job_dir:...}`` for ``hydra.sweep.subdir`` in ``configs/fit.yaml``; registering twice is a no-op."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, job_dirname)
