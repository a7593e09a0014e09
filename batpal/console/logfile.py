"""The command's log file ``<run dir>/<job>.log``: every record that reaches the root logger (banners, summary
tables, batpal's messages) and every Python warning, stamped and without ANSI codes, appended across resumes.
Warnings still show on stderr as before; an error that ends the command is written there with its traceback."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from batpal.console.formatters import PlainFormatter

# Lightning gives these loggers their own stderr handlers at its import, and stops propagation when the root logger
# had no handler then: depending on import order its lines showed twice or never reached the log file. If Lightning
# is imported, they are routed through the root logger for the block (import it first to have its lines there).
LIBRARIES = ("lightning", "lightning.pytorch", "lightning.fabric")


class _Bare(logging.Formatter):
    """A captured warning as ``warnings`` would print it (its text already names file, line and category)."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).rstrip("\n")


@contextmanager
def command_log(run_dir: str | Path, name: str) -> Iterator[Path]:
    """Log to ``<run_dir>/<name>.log`` while the block runs (replacing a handler already on that file, e.g. Hydra's
    default job log), and route warnings through logging (``py.warnings``) to stderr and the file."""
    path = (Path(run_dir) / f"{name}.log").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path]:
        root.removeHandler(old)
        old.close()
    file = logging.FileHandler(path, mode="a", encoding="utf-8")  # "a": reopened if a launcher closed it
    file.setFormatter(PlainFormatter())
    file.setLevel(logging.INFO)
    level = root.level
    root.addHandler(file)
    if level == logging.NOTSET or level > logging.INFO:
        root.setLevel(logging.INFO)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(_Bare())
    py = logging.getLogger("py.warnings")
    saved = (list(py.handlers), py.propagate)
    py.handlers[:], py.propagate = [stderr, file], False
    logging.captureWarnings(True)
    routed = LIBRARIES if "lightning" in sys.modules else ()
    own = {lib: (list(logging.getLogger(lib).handlers), logging.getLogger(lib).propagate) for lib in routed}
    for lib in routed:  # their records once, through the root logger: console and this file
        logging.getLogger(lib).handlers[:], logging.getLogger(lib).propagate = [], True
    try:
        yield path
    except BaseException:
        file.handle(logging.makeLogRecord({"name": "batpal", "levelno": logging.ERROR, "levelname": "ERROR",
                                           "msg": f"{name} failed", "exc_info": sys.exc_info()}))
        raise
    finally:
        logging.captureWarnings(False)
        for lib, (handlers, propagate) in own.items():
            logging.getLogger(lib).handlers[:], logging.getLogger(lib).propagate = handlers, propagate
        py.handlers[:], py.propagate = saved
        root.removeHandler(file)
        root.setLevel(level)
        file.close()
