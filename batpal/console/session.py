"""One command's console session: known third-party noise silenced and ``<run dir>/<job>.log`` written while it
runs. Entry points wrap their work in ``command_session`` (imports here stay light: ``--help`` never enters it)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from batpal.console.logfile import command_log
from batpal.console.quiet import silence_known_noise

log = logging.getLogger("batpal")


def job_name(default: str) -> str:
    """Hydra's job name (``fit`` for ``python -m batpal.fit``, a reproduction step's own name), else ``default``."""
    from hydra.core.hydra_config import HydraConfig

    return str(HydraConfig.get().job.name) if HydraConfig.initialized() else default


@contextmanager
def command_session(run_dir: str | Path, default_name: str, trains: bool = True) -> Iterator[Path | None]:
    """Yields the log file's path; a DDP worker rank (which reruns the command) only silences, and logs to no file.
    ``trains``: the command uses Lightning, imported here so that its lines reach the log file once."""
    from batpal.resume import launching_rank

    if trains:
        import lightning  # noqa: F401

    with warnings.catch_warnings():  # the filters and the warnings->logging route end with the command
        silence_known_noise()
        if not launching_rank():
            yield None
            return
        with command_log(run_dir, job_name(default_name)) as path:
            yield path


def announce(text: str) -> None:
    """``text`` to the console and the command's log file, from the launching process only (not DDP worker ranks)."""
    from batpal.resume import launching_rank

    if launching_rank():
        log.info("%s", text)
