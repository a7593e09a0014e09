"""Calibrate's convergence stop: the rule (a fall smaller than a share of the drop so far, for ``patience``
epochs, past ``min_frames``), the stage ending early with ``converged_at`` in summary.json, and a resume from the
checkpoint written as it stopped (what a kill during the final evaluation leaves) stopping again at once."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from batpal.fit import fit
from batpal.stages.converged import ConvergedStop
from tests.conftest import TINY, compose_config


def _epochs(stop: ConvergedStop, returns: list[list[float]], frames_per_epoch: int = 100) -> list[bool]:
    """Feeds each epoch's iteration returns; the trainer's should_stop after each epoch."""
    trainer, module, stopped = SimpleNamespace(callback_metrics={}, should_stop=False), SimpleNamespace(frames=0), []
    for epoch in returns:
        for value in epoch:
            trainer.callback_metrics["train/return"] = torch.tensor(value)
            stop.on_train_batch_end(trainer, module)
        module.frames += frames_per_epoch
        stop.on_train_epoch_end(trainer, module)
        stopped.append(trainer.should_stop)
    return stopped


def test_stops_after_patience_epochs_of_small_falls_relative_to_the_drop():
    # reference 0; epochs fall to -50, -90, -100 (a fall of 10: 10% of the drop), then -101, -101.5 (< 5%)
    stop = ConvergedStop(reference=0.0, tol=0.05, patience=2, min_frames=0)
    assert _epochs(stop, [[-40, -60], [-90], [-100], [-101], [-101.5], [-102]]) == [False] * 4 + [True, True]
    assert stop.stopped_at == 500 and stop.best == -102.0  # the best keeps following after the stop


def test_an_epoch_that_falls_enough_resets_the_count_and_min_frames_holds_the_stop_back():
    stop = ConvergedStop(reference=0.0, tol=0.05, patience=2, min_frames=0)
    assert not any(_epochs(stop, [[-100], [-100], [-120], [-120]]))  # -120 fell 20% of the drop: wait is reset
    late = ConvergedStop(reference=0.0, tol=0.05, patience=1, min_frames=400)
    assert _epochs(late, [[-100], [-100], [-100], [-100]]) == [False, False, False, True]
    nan = ConvergedStop(reference=0.0, tol=0.05, patience=1, min_frames=0)
    assert _epochs(nan, [[float("nan")], [float("nan")]]) == [False, False] and nan.best == float("inf")


def test_state_round_trips_and_a_stopped_search_stops_again_on_resume():
    stop = ConvergedStop(reference=0.0, tol=0.05, patience=1, min_frames=0)
    _epochs(stop, [[-100], [-100]])
    fresh = ConvergedStop(reference=0.0, tol=0.05, patience=1, min_frames=0)
    fresh.load_state_dict(stop.state_dict())
    trainer = SimpleNamespace(should_stop=False)
    fresh.on_train_start(trainer, None)
    assert trainer.should_stop and fresh.stopped_at == 200 and fresh.best == -100.0


CONVERGE = [
    "stages=[pretrain,calibrate]",
    "calibrate.frames=2000",  # a cap of 5 iterations of 400 frames, one per epoch
    "calibrate.iters_per_epoch=1",
    "calibrate.eval_episodes=6",
    "calibrate.ppo.ppo_epochs=2",
    "calibrate.converge_tol=0.99",  # almost no epoch falls 99% of the drop so far: stops early
    "calibrate.converge_patience=1",
]


@pytest.mark.slow  # two tiny pipelines, ~20 s
def test_calibrate_ends_when_converged_and_a_resume_after_the_stop_stops_again(tmp_path):
    run_dir = tmp_path / "run"
    fit(compose_config(["experiment=mpe_spread", *TINY, *CONVERGE], run_dir))
    summary = json.loads((run_dir / "summary.json").read_text())
    calibrate = summary["calibrate"]
    assert calibrate["converged_at"] == calibrate["frames"] < 2000  # ended before the cap
    # the checkpoint of the stopping epoch with no calibrate summary: a kill during the final evaluation
    (run_dir / "summary.json").write_text(json.dumps({"pretrain": summary["pretrain"]}))
    fit(compose_config(["experiment=mpe_spread", *TINY, *CONVERGE, "ckpt_path=last"], run_dir))
    resumed = json.loads((run_dir / "summary.json").read_text())["calibrate"]
    for figures in (calibrate, resumed):
        figures.pop("wall_s")
    assert resumed == calibrate


def test_bad_convergence_settings_are_refused_naming_the_key(tmp_path):
    for override, key in (("calibrate.converge_tol=1.0", "calibrate.converge_tol"),
                          ("calibrate.converge_tol=-0.1", "calibrate.converge_tol"),
                          ("calibrate.converge_patience=0", "calibrate.converge_patience")):
        with pytest.raises(ValueError, match=key):
            fit(compose_config(["experiment=mpe_spread", *TINY, *CONVERGE, override], tmp_path / "bad"))
        assert not (tmp_path / "bad" / "pi0.pt").exists()  # refused before pretrain
