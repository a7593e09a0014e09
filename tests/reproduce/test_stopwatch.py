"""A step's wall-clock counts every invocation that ran it: a step killed (``kill -9``) and resumed reports both
in ``done.json``; a failed job's time counts towards the run that finishes it; a broken clock file is refused
before the step runs; README rows of steps finished before this counted only the last invocation say so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from omegaconf import OmegaConf

import batpal.reproduce.jobs as jobs
from batpal.reproduce.cache import DONE_FILE, write_step
from batpal.reproduce.provenance import write_readme
from batpal.reproduce.run import step_rows
from batpal.reproduce.steps import Step
from batpal.reproduce.stopwatch import CLOCK_FILE, StepClock

KILLED = """
import sys, time
from batpal.reproduce.stopwatch import StepClock
with StepClock(sys.argv[1], every_s=0.05):
    time.sleep(60)
"""


def _clock(run_dir) -> dict:
    path = run_dir / CLOCK_FILE
    return json.loads(path.read_text()) if path.is_file() else {"wall_s": 0.0}


def test_a_step_killed_mid_run_and_resumed_counts_both_invocations(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path)])
    deadline = time.time() + 60
    while _clock(tmp_path)["wall_s"] < 0.5 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # no __exit__: only the heartbeat's last write survives
    proc.wait()
    killed = _clock(tmp_path)
    assert killed["wall_s"] >= 0.5 and killed["invocations"] == 1
    with StepClock(tmp_path) as clock:
        time.sleep(0.2)
    stamp = clock.stamp()
    assert stamp["invocations"] == 2
    assert 0.2 <= stamp["last_invocation_s"] < 1.0
    assert stamp["wall_s"] == pytest.approx(killed["wall_s"] + stamp["last_invocation_s"], abs=0.02)


def test_the_job_stamps_done_json_with_the_failed_and_the_finishing_invocation(tmp_path, monkeypatch):
    run_dir = tmp_path / "seed0" / "pi0"
    config = {"pretrain.frames": 800}
    write_step("seed0/pi0", "fit", run_dir, config, {})
    monkeypatch.setattr(jobs, "identity", lambda cfg, kind: config)
    calls = []

    def fit(cfg):
        calls.append(cfg.run_dir)
        time.sleep(0.3)
        if len(calls) == 1:
            raise RuntimeError("killed (test)")

    monkeypatch.setattr(jobs, "fit", fit)
    cfg = OmegaConf.create({"run_dir": str(run_dir)})
    with pytest.raises(RuntimeError, match="killed"):
        jobs.fit_job(cfg)
    assert not (run_dir / DONE_FILE).exists() and _clock(run_dir)["wall_s"] >= 0.3
    jobs.fit_job(cfg)
    done = json.loads((run_dir / DONE_FILE).read_text())
    assert done["invocations"] == 2 and done["wall_s"] >= 0.6 and 0.3 <= done["last_invocation_s"] < done["wall_s"]


def test_a_clock_file_that_is_not_one_is_refused_before_the_step_runs(tmp_path, monkeypatch):
    (tmp_path / CLOCK_FILE).write_text('{"wall_s": "soon"}')
    with pytest.raises(ValueError, match=f"{CLOCK_FILE} is not a step clock"):
        StepClock(tmp_path)
    (tmp_path / CLOCK_FILE).write_text('{"wall_s": -5, "invocations": 1}')
    with pytest.raises(ValueError, match="negative"):
        StepClock(tmp_path)
    with pytest.raises(ValueError, match="every_s"):
        StepClock(tmp_path / "other", every_s=0)


def _done(run_dir, wall_s, summary, **extra):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / DONE_FILE).write_text(json.dumps({"id": "x", "finished": 1.8e9, "wall_s": wall_s, **extra}))
    (run_dir / "summary.json").write_text(json.dumps(summary))


def test_a_legacy_step_resumed_reports_its_own_training_time_and_says_so(tmp_path):
    pi0, method = Step(0, "pi0", "fit"), Step(0, "batpal", "fit", needs=("pi0",), share=("pi0",))
    _done(pi0.run_dir(tmp_path), 1800.0, {"pretrain": {"wall_s": 1750.0}})
    # resumed before every invocation counted: done.json has the last one only (84 s), the module summed 700 s of
    # adversarial training; pi0's shared pretrain (1750 s) is not the method's
    _done(method.run_dir(tmp_path), 84.0, {"pretrain": {"wall_s": 1750.0}, "adversarial": {"wall_s": 700.0}})
    rows = {r["step"]: r for r in step_rows([pi0, method], tmp_path)}
    assert rows["seed0/pi0"]["wall_s"] == 1800.0 and "partial" not in rows["seed0/pi0"]
    assert rows["seed0/batpal"]["wall_s"] == 700.0 and rows["seed0/batpal"]["partial"]
    text = write_readme(tmp_path, ["experiment=mpe_spread"], list(rows.values()), {}, 0.0, "").read_text()
    assert "| seed0/batpal | fit | 700 * |" in text and "| seed0/pi0 | fit | 1800 |" in text
    assert "resumed before a step counted all its invocations" in text
    # counted by StepClock: done.json is the whole time, whatever the summary says
    _done(method.run_dir(tmp_path), 84.0, {"adversarial": {"wall_s": 700.0}}, invocations=1)
    assert step_rows([method], tmp_path)[0]["wall_s"] == 84.0
