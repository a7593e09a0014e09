"""A step's wall-clock summed over every invocation that ran it: a step killed at a session's end and resumed in
the next one reports the time of both, not only the last (``done.json``'s ``wall_s``).

``clock.json`` in the step's run dir holds the seconds spent so far; a daemon thread rewrites it every ``every_s``
seconds while the step runs, so a ``kill -9`` loses at most that much of the count.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import TracebackType

from batpal.atomic import write_text_atomic

CLOCK_FILE = "clock.json"


class StepClock:
    """``with StepClock(run_dir) as clock: ...``; ``clock.stamp()`` is what ``done.json`` records of the time."""

    def __init__(self, run_dir: Path, every_s: float = 30.0) -> None:
        if every_s <= 0:
            raise ValueError(f"StepClock every_s must be > 0, got {every_s}")
        self.path, self.every_s = Path(run_dir) / CLOCK_FILE, float(every_s)
        earlier = _read(self.path)
        self.earlier_s, self.invocations = float(earlier["wall_s"]), int(earlier["invocations"]) + 1
        self._start = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def this_invocation_s(self) -> float:
        return time.perf_counter() - self._start

    def total_s(self) -> float:
        """Seconds spent on the step: the earlier invocations' (as last written) plus this one's so far."""
        return self.earlier_s + self.this_invocation_s()

    def stamp(self) -> dict[str, float | int]:
        total, last = self.total_s(), self.this_invocation_s()
        return {"wall_s": round(total, 2), "last_invocation_s": round(last, 2), "invocations": self.invocations}

    def _write(self) -> None:
        payload = {"wall_s": round(self.total_s(), 2), "invocations": self.invocations}
        write_text_atomic(self.path, json.dumps(payload, sort_keys=True))

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            self._write()

    def __enter__(self) -> StepClock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._start = time.perf_counter()
        self._write()  # this invocation counts from now on, even if it is killed before the first beat
        self._thread = threading.Thread(target=self._beat, name="step-clock", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._write()


def _read(path: Path) -> dict[str, float | int]:
    """The clock left by earlier invocations (none: zero); a clock that is not one is refused, naming the file."""
    if not path.is_file():
        return {"wall_s": 0.0, "invocations": 0}
    try:
        data = json.loads(path.read_text())
        wall, count = float(data["wall_s"]), int(data["invocations"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a step clock ({err}); remove it to count this step's time from zero") from err
    if wall < 0 or count < 0:
        raise ValueError(f"{path} holds a negative time or count ({wall}, {count}); remove it to count from zero")
    return {"wall_s": wall, "invocations": count}
