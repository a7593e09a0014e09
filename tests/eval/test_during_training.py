"""Evaluation during training: the eval curves at the right frames, training untouched by it (same metrics with and
without it), its schedule from frames alone (a resume, DDP's other ranks), a negative setting refused."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from batpal.config import validate
from batpal.eval.during_training import EvalDuringTraining, due, isolated_rng
from batpal.fit import fit
from tests.conftest import TINY, compose_config

# pretrain (4 iterations of 400 frames) then adversarial (4 iterations), Vmax / Vmin given so calibrate is skipped
RUN = ["experiment=mpe_spread", *TINY, "stages=[pretrain,adversarial]", "game.K=2", "game.vmax=-150",
       "game.vmin=-400", "adversarial.frames=1600", "adversarial.iters_per_epoch=2", "adversarial.eval_episodes=2",
       "adversarial.ppo.ppo_epochs=2"]
EVAL = ["pretrain.eval_every=800", "adversarial.eval_every=800", "pretrain.eval_during_episodes=2",
        "adversarial.eval_during_episodes=1"]


def _rows(run_dir: Path, stage: str) -> list[dict[str, str]]:
    return list(csv.DictReader(open(run_dir / "metrics" / stage / "metrics.csv")))


def _training(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The training rows' train/* values (what the eval rows must not change)."""
    return [{k: v for k, v in r.items() if k.startswith("train/")} for r in rows if r.get("wall_s")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same seed trained with and without evaluation during training."""
    root = tmp_path_factory.mktemp("during")
    fit(compose_config([*RUN, *EVAL], root / "with"))
    fit(compose_config(RUN, root / "without"))
    return {"with": root / "with", "without": root / "without"}


def test_eval_curves_are_logged_every_eval_every_frames(runs):
    for stage, names in (("pretrain", ["no_attack"]), ("adversarial", ["no_attack", "psi_1", "psi_2"])):
        evals = [r for r in _rows(runs["with"], stage) if r.get("eval/return/no_attack")]
        assert [float(r["frames"]) for r in evals] == [800.0, 1600.0]  # every 800 frames, once each
        for row in evals:
            for name in names:
                value = float(row[f"eval/return/{name}"])
                assert float(row[f"eval/return_normalized/{name}"]) == pytest.approx((value + 189) / 142, rel=1e-5)
            assert float(row["eval/seconds"]) > 0
        if stage == "adversarial":  # each psi_k's severity, on the summary's scale (a share of Vmax - Vmin)
            assert all(-1.0 < float(r[f"eval/severity/psi_{k}"]) < 2.0 for r in evals for k in (1, 2))
    assert not any(k.startswith("eval/") for k in _rows(runs["without"], "adversarial")[0])


def test_training_is_the_same_with_and_without_it(runs):
    for stage in ("pretrain", "adversarial"):
        with_eval, without = _training(_rows(runs["with"], stage)), _training(_rows(runs["without"], stage))
        assert len(with_eval) == len(without) > 0
        assert with_eval == without  # every training metric, to the last digit: no RNG or env state consumed


class _Logger:
    def __init__(self) -> None:
        self.rows: list[tuple[int, dict[str, float]]] = []

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.rows.append((step, metrics))


def _trainer(rank: int = 0) -> SimpleNamespace:
    loop = SimpleNamespace(epoch_loop=SimpleNamespace(_batches_that_stepped=7))
    return SimpleNamespace(is_global_zero=rank == 0, loggers=[_Logger()], fit_loop=loop)


def test_a_resumed_run_keeps_the_schedule_and_only_rank_zero_evaluates():
    calls = []
    module = torch.nn.Linear(1, 1)
    module.frames_per_iteration = 400
    callback = EvalDuringTraining(lambda m: calls.append(m.frames) or {"eval/return/no_attack": -1.0}, every=1200)
    trainer = _trainer()
    for frames in (2400, 2400, 2800, 3200, 3600):  # resumed at 2000 frames; an epoch's end repeats the hook once
        module.frames = frames
        callback.on_train_batch_end(trainer, module, None, None, 0)
    assert calls == [2400, 3600]  # the multiples of 1200 crossed, as in a run left alone
    step, row = trainer.loggers[0].rows[0]
    assert step == 7 and row["frames"] == 2400.0 and row["eval/return/no_attack"] == -1.0
    other = _trainer(rank=1)
    module.frames = 4800
    callback.on_train_batch_end(other, module, None, None, 0)
    assert calls == [2400, 3600] and other.loggers[0].rows == []  # DDP: rank 0 alone evaluates


def test_due_crosses_multiples_only():
    assert [f for f in range(400, 4001, 400) if due(f, 400, 1000)] == [1200, 2000, 3200, 4000]
    assert not any(due(f, 400, 0) for f in range(400, 4001, 400))  # 0: off


def test_isolated_rng_forgets_the_draws_of_global_and_module_generators():
    module = torch.nn.Sequential(torch.nn.Linear(1, 1))
    module[0].coins = torch.Generator().manual_seed(3)  # e.g. the teacher-forcing coins of PolicyBeliefInput
    torch.manual_seed(0)
    expected = (torch.rand(2), torch.rand(2, generator=torch.Generator().manual_seed(3)))
    torch.manual_seed(0)
    with isolated_rng(module):
        torch.rand(5), torch.rand(5, generator=module[0].coins)
    assert torch.equal(torch.rand(2), expected[0])
    assert torch.equal(torch.rand(2, generator=module[0].coins), expected[1])


@pytest.mark.parametrize("key", ["adversarial.eval_every", "pretrain.eval_every", "adversarial.eval_during_episodes"])
def test_negative_settings_are_refused_naming_the_key(key):
    value = -1 if key.endswith("eval_every") else 0
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        validate(compose_config(["experiment=mpe_spread", *TINY, f"{key}={value}"], Path("/tmp/never")))
    with pytest.raises(ValueError, match="eval_every must be an integer >= 0"):
        EvalDuringTraining(lambda m: {}, every=-800)
