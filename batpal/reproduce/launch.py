"""A wave of independent steps of one kind, run through Hydra's launcher: local processes with the joblib launcher
(the default), SLURM jobs with ``hydra/launcher=submitit_slurm``, or in-process with ``hydra/launcher=basic``.

Each job composes its entry point's config (``configs/<kind>.yaml``) from its overrides and runs in its step's run
dir, where Hydra writes ``.hydra/`` and its log, ``<step>.log``. A step that did not finish (no ``done.json``)
fails the wave: ``WaveFailed`` names each such step, its error and its log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from hydra._internal.callbacks import Callbacks
from hydra.core.global_hydra import GlobalHydra
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, RunMode

from batpal.reproduce.cache import done_id
from batpal.reproduce.jobs import TASKS
from batpal.reproduce.plan import quote
from batpal.reproduce.steps import CONFIG_NAMES, Step

log = logging.getLogger(__name__)


class WaveFailed(RuntimeError):
    """Steps of a wave that did not finish; the reproduction stops there and builds no table."""


class HydraWaves:
    """Launches waves through the launcher that ``hydra_overrides`` choose (the command's own Hydra overrides)."""

    def __init__(self, root: Path, hydra_overrides: Sequence[str]) -> None:
        if not GlobalHydra.instance().is_initialized():
            raise RuntimeError("the reproduction launches its jobs through Hydra, which is not initialised: run it "
                               "as `python -m batpal.reproduce` (or inside hydra.initialize_config_dir).")
        self.root, self.hydra_overrides = root, list(hydra_overrides)
        self.jobs_launched = 0

    def run(self, kind: str, jobs: Sequence[tuple[Step, Sequence[str]]]) -> None:
        """Run ``jobs`` (step, its overrides) of ``kind`` to the end; raises ``WaveFailed`` if any did not finish."""
        hydra = GlobalHydra.instance().hydra
        master = hydra.compose_config(
            CONFIG_NAMES[kind], [*self.hydra_overrides, f"hydra.sweep.dir={quote(self.root)}"], RunMode.MULTIRUN
        )
        context = HydraContext(config_loader=hydra.config_loader, callbacks=Callbacks(master))
        launcher = Plugins.instance().instantiate_launcher(hydra_context=context, task_function=TASKS[kind],
                                                           config=master)
        overrides = [[*o, f"hydra.sweep.subdir={quote(step.key)}", f"hydra.job.name={step.name}"] for step, o in jobs]
        log.info("launching %d %s job(s): %s", len(jobs), kind, ", ".join(step.key for step, _ in jobs))
        error: BaseException | None = None
        returns: Sequence[JobReturn] = []
        root_logger = logging.getLogger()
        handlers, level = list(root_logger.handlers), root_logger.level
        try:
            returns = launcher.launch(overrides, initial_job_idx=self.jobs_launched)
        except Exception as err:  # e.g. submitit raises for a failed job: the markers below say which
            error = err
        finally:  # the launcher reconfigures logging for its jobs: this process logs on to its own handlers
            root_logger.handlers[:] = handlers
            root_logger.setLevel(level)
        self.jobs_launched += len(jobs)
        errors = {step.key: ret._return_value for (step, _), ret in zip(jobs, returns, strict=False)
                  if ret.status == JobStatus.FAILED}
        failed = [step for step, _ in jobs if done_id(step.run_dir(self.root)) is None]
        if failed:
            lines = [
                f"{step.key}: {errors.get(step.key, error) or 'did not finish'!s}; log: "
                f"{step.run_dir(self.root) / (step.name + '.log')}"
                for step in failed
            ]
            raise WaveFailed(f"{len(failed)} of {len(jobs)} {kind} job(s) failed, so no table is built:\n  "
                             + "\n  ".join(lines))

