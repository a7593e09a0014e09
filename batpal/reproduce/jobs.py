"""What a launched job runs (in a joblib worker, a SLURM job or in-process): the entry point on its config, then
``done.json`` in its run dir, with the step's wall-clock over every invocation that ran it (``StepClock``). A
failure is logged with its traceback to the job's log file and re-raised."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from batpal.eval.run import evaluate
from batpal.fit import fit
from batpal.reproduce.cache import expect, mark_done
from batpal.reproduce.configs import identity
from batpal.reproduce.provenance import stamp
from batpal.reproduce.stopwatch import StepClock
from batpal.stages.attack import train_attack


def _run(kind: str, entry: Callable[[DictConfig], Any], cfg: DictConfig) -> str:
    from batpal.console.session import command_session

    run_dir, config = Path(cfg.run_dir), identity(cfg, kind)
    # the step's log, <step>.log (Hydra's job name), with a failure's traceback
    with command_session(run_dir, kind, trains=kind != "evaluate"):
        expect(run_dir, config)  # before compute: the config the step was planned with
        with StepClock(run_dir) as clock:
            entry(cfg)
        return mark_done(run_dir, config, {**clock.stamp(), **stamp()})


def fit_job(cfg: DictConfig) -> str:
    """``batpal.fit`` (pi0, calibrate, a method's adversarial stage, KT); returns the result's id."""
    return _run("fit", fit, cfg)


def attack_job(cfg: DictConfig) -> str:
    """``batpal.attack``: an RL attack against a frozen defender."""
    return _run("attack", train_attack, cfg)


def evaluate_job(cfg: DictConfig) -> str:
    """``batpal.evaluate``: one defender against its rows' attacks on every victim."""
    return _run("evaluate", evaluate, cfg)


TASKS = {"fit": fit_job, "attack": attack_job, "evaluate": evaluate_job}
