"""The Hydra callback of ``python -m batpal.fit -m ...`` sweeps: job folders named by the swept keys, and every
failed job reported when the sweep ends.

Hydra runs the other jobs of a batch after one fails, then raises the first failure's exception alone (the basic
launcher in this process; the joblib launcher after its workers return): the rest are lost, and no message says
which job or where its log is. Here each failed job (its traceback already in ``<run dir>/<job name>.log``, by
``batpal.console``) writes ``job_failed.json`` (its number, overrides, error and log path) into its run dir and is
handed back as finished, so the sweep goes on; when it ends, every failed job of this sweep is listed (an error
on the console) and the command exits with status 1 (``SystemExit``: Hydra turns a callback's exceptions into
warnings).
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from batpal.job_dirs import fixed_keys

log = logging.getLogger(__name__)
FAILED = "job_failed.json"


class SweepCallback(Callback):
    """``hydra.callbacks.sweep`` of ``configs/fit.yaml``."""

    def __init__(self) -> None:
        self.sweep_id: str | None = None  # one per multirun: a rerun does not report the last one's failures

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Every job's ``override_dirname`` leaves out the keys all jobs share (``batpal.job_dirs``)."""
        self.sweep_id = uuid.uuid4().hex
        hydra = config.hydra
        params = hydra.sweeper.get("params")
        params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
        exclude = {*hydra.job.config.override_dirname.exclude_keys, *fixed_keys(hydra.overrides.task, params)}
        listed = ",".join(f"'{key}'" for key in sorted(exclude))
        with read_write(hydra.overrides):
            hydra.overrides.hydra.append(f"hydra.job.config.override_dirname.exclude_keys=[{listed}]")

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        """A failed job of a multirun: its record and traceback, then handed back as finished (reported at the end)."""
        if self.sweep_id is None or job_return.status != JobStatus.FAILED:
            return
        error = job_return._return_value
        run_dir = Path(config.hydra.runtime.output_dir)
        log_file = run_dir / f"{config.hydra.job.name}.log"
        record = {
            "sweep": self.sweep_id,
            "job": int(config.hydra.job.num),
            "overrides": list(config.hydra.overrides.task),
            "error": f"{type(error).__name__}: {error}",
            "log": str(log_file) if log_file.is_file() else None,
            "run_dir": str(run_dir),
        }
        log.error("job %d (%s) failed: %s", record["job"], " ".join(record["overrides"]), record["error"])
        (run_dir / FAILED).write_text(json.dumps(record, indent=1) + "\n")
        job_return.status, job_return._return_value = JobStatus.COMPLETED, None

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A job that runs again forgets its earlier failure."""
        Path(config.hydra.runtime.output_dir, FAILED).unlink(missing_ok=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """This sweep's failed jobs, if any: listed, then exit status 1."""
        failed = failed_jobs(config.hydra.sweep.dir, self.sweep_id)
        if failed:
            log.error("%s", sweep_report(failed))
            raise SystemExit(1)


def sweep_report(failed: list[dict[str, Any]]) -> str:
    """Each failed job: number, overrides, error, log (or run dir)."""
    lines = [
        f"  job {r['job']} ({' '.join(r['overrides'])}): {r['error']}\n    log: {r['log'] or r['run_dir']}"
        for r in failed
    ]
    return f"{len(failed)} job(s) of the sweep failed:\n" + "\n".join(lines)


def failed_jobs(sweep_dir: str | Path, sweep_id: str | None = None) -> list[dict[str, Any]]:
    """The failure records under ``sweep_dir`` (of one sweep, if ``sweep_id``), by job number."""
    records = [json.loads(p.read_text()) for p in Path(sweep_dir).glob(f"*/{FAILED}")]
    return sorted((r for r in records if sweep_id in (None, r["sweep"])), key=lambda r: r["job"])
