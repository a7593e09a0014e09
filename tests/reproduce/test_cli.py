"""``python -m batpal.reproduce`` end to end through the joblib launcher (local processes), at tiny scale, with Figure
2, Table 1 (BATPAL's ablations) and Table 3 (K) in one reproduction (their steps share pi0 and the calibration, as
a user's would): a run killed after pi0 resumes where it stopped and builds every table, a rerun does no work, a
changed config on a cached step is refused.

Each command is ``python -m batpal.reproduce`` in a child of the session's zygote (``tests/zygote.py``: a fresh
interpreter that has imported the package once); its jobs run in joblib's worker processes, as from a shell.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from batpal.reproduce.tables import COLUMNS
from tests.reproduce.conftest import SMALL_FIGURE2, TINY_REPRODUCE
from tests.zygote import zygote

# Table 1 and Table 3 on top of Figure 2 (K = 1 and 2, two Fixed Types attacks)
TABLES = ["reproduce.tables=[figure2,table1,table3]", "reproduce.table3_K=[1,2]", "reproduce.fixed_types_c=[0.0,0.05]"]
STEPS = 30  # Figure 2's 11 steps, and 19 more for Table 1 and Table 3 (pi0, calibrate, BATPAL, ACT, ... shared)


def command(out: Path, *extra: str) -> list[str]:
    return [*TINY_REPRODUCE, *SMALL_FIGURE2, *TABLES, "hydra.launcher.n_jobs=2", f"hydra.run.dir={out}", *extra]


def done_times(out: Path) -> dict[str, float]:
    return {str(p.parent.relative_to(out)): p.stat().st_mtime for p in out.glob("seed*/*/done.json")}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reproduction killed once pi0 is done (in the next wave), then resumed to its end."""
    root = tmp_path_factory.mktemp("cli")
    out, forks = root / "repro", zygote()
    pid = forks.start("batpal.reproduce", command(out), root / "killed.log", new_session=True)
    try:  # 1. killed once pi0 is done, in the next wave
        deadline = time.time() + 300
        while not (out / "seed0" / "pi0" / "done.json").exists() and _alive(pid) and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(3)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)  # the command and its joblib workers
    finally:
        killed = forks.wait(timeout=60)
    pi0, killed_tables = done_times(out), (out / "figure2.csv").exists()
    dry = forks.run("batpal.reproduce", command(out, "reproduce.dry_run=true"), root / "dry.log", timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    progress = (out / "README.md").read_text()  # the partial run's README, refreshed by the dry run

    resumed = forks.run("batpal.reproduce", command(out), root / "resumed.log", timeout=600)  # 2. resumes
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    entry = json.loads((out / "summary.json").read_text())["reproduce"]
    return {
        "out": out,
        "root": root,
        "pi0": pi0,
        "killed": killed,
        "killed_tables": killed_tables,
        "progress": progress,
        "finished": done_times(out),
        "entry": entry,
    }


@pytest.mark.slow  # four CLI runs of 30 tiny steps, about 2 minutes on 2 cores
def test_figure2_through_joblib_resumes_after_a_kill_then_is_cached(reproduction):
    out, root, pi0, finished = (reproduction[k] for k in ("out", "root", "pi0", "finished"))
    assert "seed0/pi0" in pi0 and not reproduction["killed_tables"], reproduction["killed"].stderr[-3000:]
    assert finished["seed0/pi0"] == pi0["seed0/pi0"] and len(finished) == STEPS  # pi0 is not trained again
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
    log = (out / "reproduce.log").read_text()  # the command's own log: its end table, without colour codes
    assert "== batpal.reproduce: seeds" in log and "\x1b[" not in log

    forks = zygote()
    again = forks.run("batpal.reproduce", command(out), root / "again.log")  # 3. everything cached
    assert again.returncode == 0, again.stderr[-3000:]
    said = again.stdout + again.stderr
    assert f"{STEPS} cached, 0 to run" in said and "launching" not in said  # no job launched, nothing rewritten
    assert done_times(out) == finished
    readme = (out / "README.md").read_text()
    dry = forks.run("batpal.reproduce", command(out, "reproduce.dry_run=true"), root / "dry_done.log")
    assert dry.returncode == 0 and (out / "README.md").read_text() == readme  # a finished README stays as it is

    # 4. a cached step's config changed: refused
    changed = forks.run("batpal.reproduce", command(out, "adversarial.frames=1200"), root / "changed.log")
    assert changed.returncode != 0
    said = changed.stdout + changed.stderr
    assert "was run with another config" in said and "adversarial.frames: 800 -> 1200" in said
    assert "seed0/pi0 " not in said.split("do not fit this command")[1]  # pi0 does not read it
    assert done_times(out) == finished


@pytest.mark.slow
def test_table1_and_table3_at_tiny_scale(reproduction):
    out, entry = reproduction["out"], reproduction["entry"]
    assert set(entry["tables"]) == {"figure2", "table1", "table3", "attack_curves"}
    curves = list(csv.DictReader(open(out / "attack_curves.csv")))  # every RL attack step's training curve
    assert {(r["attack"], r["defender"]) for r in curves} >= {("act", "batpal"), ("act", "pi0")}
    assert entry["steps"] == STEPS and entry["steps_run"] == STEPS - len(
        reproduction["pi0"]
    )  # all but the killed run's
    table1 = list(csv.DictReader(open(out / "table1.csv")))
    assert tuple(table1[0]) == COLUMNS
    variants = ("BATPAL", "No Belief", "Perfect Belief", "EC PG", "Fixed Types")
    assert [(r["attack"], r["defender"]) for r in table1] == [
        (a, v) for a in ("No attack", "ACT", "A-Gen-Maxmin") for v in variants
    ]
    assert {r["paper"] for r in table1 if r["defender"] == "No Belief"} == {"0.81", "0.7", "0.61"}
    table3 = list(csv.DictReader(open(out / "table3.csv")))
    assert [(r["attack"], r["defender"]) for r in table3] == [
        (a, k) for a in ("No attack", "A-EIR-MAPPO", "ACT") for k in ("K=1", "K=2")
    ]
    assert all(r["paper"] == "" for r in table3)  # the paper has K = 3, 4, 5 only
    assert (out / "table1_stats.csv").is_file() and (out / "table3.png").is_file()


@pytest.mark.slow  # reads the reproduction above
def test_a_dry_run_of_a_partial_reproduction_says_in_its_readme_what_is_done_and_left(reproduction):
    """What a partial run dir committed between sessions shows: its steps done (with their stamps), those left, and
    the command that resumes it (without the dry run)."""
    text, pi0 = reproduction["progress"], reproduction["pi0"]
    assert text.startswith("# Reproduction (in progress)") and "dry_run" not in text
    assert f"{len(pi0)} of {STEPS} steps done" in text and "no table is built" in text
    assert "| seed0/pi0 | fit |" in text and "seed0/batpal" in text.split("steps still to run:")[1]
    assert "tables built" not in text
    assert "- estimated time left: " in text and "with 2 jobs at once" in text  # from the done steps' rates


@pytest.mark.slow  # reads the reproduction above
def test_the_reproduction_writes_its_provenance_and_each_steps_wall_clock(reproduction):
    out = reproduction["out"]
    done = [json.loads(p.read_text()) for p in out.glob("seed*/*/done.json")]
    assert len(done) == STEPS and all(d["wall_s"] >= 0 and d["commit"] and "CPU cores" in d["machine"] for d in done)
    readme = (out / "README.md").read_text()
    assert "python -m batpal.reproduce " in readme and "hydra.launcher.n_jobs=2" in readme
    assert readme.count("| seed0/") == STEPS and "| seed0/pi0 | fit | " in readme
    assert "| seed0/kt | fit | " in readme  # one joint KT, told each row's type at evaluation
    assert reproduction["entry"]["readme"] == str(out / "README.md") and reproduction["entry"]["kt"] == "joint"
