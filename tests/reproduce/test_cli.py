"""``python -m batpal.reproduce`` end to end through the joblib launcher (local processes), at tiny scale: a run
killed after pi0 resumes where it stopped, a rerun does no work, a changed config on a cached step is refused."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batpal.reproduce.tables import COLUMNS
from tests.reproduce.conftest import SMALL_FIGURE2, TINY_REPRODUCE

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "batpal.reproduce", *TINY_REPRODUCE, *SMALL_FIGURE2, "hydra.launcher.n_jobs=2",
            f"hydra.run.dir={out}", *extra]


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=480)


def done_times(out: Path) -> dict[str, float]:
    return {str(p.parent.relative_to(out)): p.stat().st_mtime for p in out.glob("seed*/*/done.json")}


@pytest.mark.slow  # four CLI runs, about 4 minutes on 2 cores
def test_figure2_through_joblib_resumes_after_a_kill_then_is_cached(tmp_path):
    out = tmp_path / "repro"
    with open(tmp_path / "killed.log", "w") as log:  # 1. killed once pi0 is done, in the next wave
        proc = subprocess.Popen(command(out), cwd=REPO, env=ENV, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.time() + 300
        while not (out / "seed0" / "pi0" / "done.json").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(3)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    pi0 = done_times(out)
    assert "seed0/pi0" in pi0 and not (out / "figure2.csv").exists()

    resumed = run(command(out))  # 2. resumes: pi0 is not trained again
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    finished = done_times(out)
    assert finished["seed0/pi0"] == pi0["seed0/pi0"] and len(finished) == 12
    rows = list(csv.DictReader(open(out / "figure2.csv")))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["attack"], r["defender"]) for r in rows] == [
        (a, d) for a in ("No attack", "Severity 1", "ACT") for d in ("BATPAL", "MAPPO", "KT")
    ]
    assert all(r["seeds"] == "1" and int(r["episodes"]) >= 2 and r["mean"] for r in rows)
    assert {r["paper"] for r in rows if r["attack"] == "ACT"} == {"0.81", "0.53", "0.83"}
    for name in ("figure2.png", "figure2.md", "figure2_stats.csv"):
        assert (out / name).is_file()
    assert "trained against each defender" in (out / "figure2.md").read_text()

    again = run(command(out))  # 3. everything cached: no job launched, nothing rewritten
    assert again.returncode == 0, again.stderr[-3000:]
    said = again.stdout + again.stderr
    assert "12 cached, 0 to run" in said and "launching" not in said
    assert done_times(out) == finished

    changed = run(command(out, "adversarial.frames=1200"))  # 4. a cached step's config changed: refused
    assert changed.returncode != 0
    said = changed.stdout + changed.stderr
    assert "was run with another config" in said and "adversarial.frames: 800 -> 1200" in said
    assert "seed0/pi0 " not in said.split("do not fit this command")[1]  # pi0 does not read it
    assert done_times(out) == finished
