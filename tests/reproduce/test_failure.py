"""A failed job stops the reproduction with its step's name and log, and no table is built."""

from __future__ import annotations

import pytest

import batpal.reproduce.jobs as jobs
from batpal.reproduce.launch import WaveFailed
from batpal.reproduce.run import reproduce
from tests.reproduce.conftest import SMALL_FIGURE2, TINY_REPRODUCE, hydra_reproduce


def test_a_failed_job_names_its_step_and_log_and_no_table_is_built(tmp_path, monkeypatch):
    def broken_fit(cfg):
        raise RuntimeError("pretraining diverged (test)")

    monkeypatch.setattr(jobs, "fit", broken_fit)  # the in-process (basic) launcher runs it here
    with hydra_reproduce(*TINY_REPRODUCE, *SMALL_FIGURE2, run_dir=tmp_path) as (cfg, command):
        with pytest.raises(WaveFailed) as err:
            reproduce(cfg, command, ["hydra/launcher=basic"])
    log = tmp_path / "seed0" / "pi0" / "pi0.log"
    assert "seed0/pi0: pretraining diverged (test)" in str(err.value) and f"log: {log}" in str(err.value)
    assert "no table is built" in str(err.value)
    assert "pretraining diverged (test)" in log.read_text()  # the traceback is in the step's log
    assert not (tmp_path / "seed0" / "pi0" / "done.json").exists() and not (tmp_path / "figure2.csv").exists()
    assert not (tmp_path / "seed0" / "calibrate").exists()  # nothing after the failed wave ran
