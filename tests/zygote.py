"""``python -m <module> <args>`` (or ``python <script.py> <args>``) without paying the interpreter's start-up (~7 s
of imports on 2 cores) for every command.

A ``Zygote`` is one fresh interpreter, started like the tests' command-line runs (the repo as cwd and on
``PYTHONPATH``, ``OMP_NUM_THREADS=1``), that imports the package once and then forks one child per command. Each
child runs the command exactly as ``python -m`` does (``runpy.run_module(..., run_name="__main__")``; a script:
``runpy.run_path``) with its own ``sys.argv``, writes its stdout to ``<log>`` and its stderr to ``<log>.stderr``,
and exits with the command's status: 0, 1 for an error, or -signal when it was killed (``-9`` for SIGKILL), as
``subprocess`` reports it. The
zygote itself never runs a command, so every child starts from the same freshly imported state: children share no
memory with one another or with the test process, and a child that resumes a run reads only what is on disk.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_SERVER = r"""
import json, os, runpy, sys, traceback
import torch
import batpal.fit, batpal.reproduce.run, tests.kill  # the imports every child would otherwise repeat

for line in sys.stdin:
    command, argv, log, new_session = json.loads(line)
    pid = os.fork()
    if pid == 0:  # the command: stdout and stderr to its logs, exit with its status
        code = 1
        try:
            if new_session:
                os.setsid()  # its own process group: killing the group kills its workers, not the zygote
            for fd, path in ((1, log), (2, log + ".stderr")):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
            sys.stdin.close()
            sys.argv = [command, *argv]  # run_module puts the module's file in argv[0]
            code = 0
            if command.endswith(".py"):
                runpy.run_path(command, run_name="__main__")
            else:
                runpy.run_module(command, run_name="__main__", alter_sys=True)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:  # the child leaves the loop and ends as a command's interpreter does (atexit, flushes)
            sys.exit(code)
    print(json.dumps(pid), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
"""


class Zygote:
    """Start with ``Zygote()``; ``run`` a command to its end, or ``start`` one and ``wait`` for it; ``close``."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.running: tuple[list[str], Path, int] | None = None

    def start(self, command: str, argv: Sequence[str], log: Path, new_session: bool = False) -> int:
        """Start ``python -m command *argv`` (``command`` a module, or a ``.py`` script) in a fresh child whose
        stdout goes to ``log`` and stderr to ``<log>.stderr``; returns the child's pid (with ``new_session``: also
        its process group's id)."""
        assert self.running is None and self.proc.stdin is not None, "one command at a time"
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        self.proc.stdin.write(json.dumps([command, list(argv), str(log), new_session]) + "\n")
        self.proc.stdin.flush()
        pid = self._answer(60)
        self.running = ([command, *argv], Path(log), pid)
        return pid

    def wait(self, timeout: float = 300) -> subprocess.CompletedProcess:
        """The started command's end: its status, stdout and stderr. Still running after ``timeout`` seconds:
        killed, and ``subprocess.TimeoutExpired`` raised."""
        assert self.running is not None, "no command started"
        args, log, pid = self.running
        try:
            code = self._answer(timeout)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self._answer(60)
            raise subprocess.TimeoutExpired(args, timeout, *_outputs(log)) from None
        finally:
            self.running = None
        return subprocess.CompletedProcess(args, code, *_outputs(log))

    def run(self, command: str, argv: Sequence[str], log: Path, timeout: float = 300) -> subprocess.CompletedProcess:
        """``start`` then ``wait``."""
        self.start(command, argv, log)
        return self.wait(timeout)

    def _answer(self, timeout: float) -> int:
        """The zygote's next line (read unbuffered: no line is left waiting in a buffer)."""
        assert self.proc.stdout is not None
        fd, line = self.proc.stdout.fileno(), b""
        while not line.endswith(b"\n"):
            if not select.select([fd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("zygote", timeout)
            byte = os.read(fd, 1)
            if not byte:
                raise RuntimeError(f"the zygote died (exit status {self.proc.wait()})")
            line += byte
        return int(json.loads(line))

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def _outputs(log: Path) -> tuple[str, str]:
    return log.read_text(), Path(f"{log}.stderr").read_text()


_SHARED: list[Zygote] = []


def zygote() -> Zygote:
    """The test session's zygote, started on first use (its imports run while the caller does other work)."""
    if not _SHARED or _SHARED[0].proc.poll() is not None:
        _SHARED[:] = [Zygote()]
        atexit.register(_SHARED[0].close)
    return _SHARED[0]
