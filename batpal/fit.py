"""``python -m batpal.fit experiment=<name>``: runs pretrain -> calibrate -> adversarial into one run directory."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig, OmegaConf

from batpal.cli_help import use_command_help
from batpal.config import validate
from batpal.config.validate import STAGES
from batpal.job_dirs import register_job_dir_resolver

if TYPE_CHECKING:
    from batpal.summary import Summary

log = logging.getLogger(__name__)
# Only hydra / omegaconf and the config above at import: `--help` and `--cfg` never load torch, Lightning or TorchRL;
# ``fit`` imports them when it runs (tests/test_entry_points.py).
register_job_dir_resolver()  # before @hydra.main composes: hydra.sweep.subdir uses it (multirun job dirs)
use_command_help()  # --help lists only this command's config groups


def fit(cfg: DictConfig) -> dict[str, Any]:
    """Validate, then run each stage in order; returns the run's summary (rank 0's view).

    Resuming (``ckpt_path``, this run's own checkpoint and an unchanged config but for budgets and logging): a
    stage already in ``summary.json`` is skipped (also the checkpoint's own, unless its frame budget was raised),
    the checkpoint's unfinished stage continues from it, later stages start fresh.
    """
    validate(cfg)  # before the heavy imports below: a bad config fails at once
    from batpal.atomic import write_text_atomic
    from batpal.checkpoints import checkpoint_stage, resolve_checkpoint
    from batpal.console.banner import fit_banner
    from batpal.console.summary_table import fit_table
    from batpal.resume import check_resume, launching_rank, new_run
    from batpal.stages import run_adversarial, run_calibrate, run_pretrain
    from batpal.summary import Summary

    runners = {"pretrain": run_pretrain, "calibrate": run_calibrate, "adversarial": run_adversarial}
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = resolve_checkpoint(cfg.ckpt_path, run_dir)
    if ckpt_path is not None:
        check_resume(cfg, run_dir, ckpt_path, STAGES)  # before anything is written
    elif launching_rank():
        new_run(run_dir)
    ckpt_stage = checkpoint_stage(ckpt_path) if ckpt_path else None
    write_text_atomic(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    summary = Summary(run_dir / "summary.json")
    say = log.info if launching_rank() else log.debug  # banners and the end table: not from DDP worker ranks
    elapsed: dict[str, float] = {}  # each stage's whole time here (training and evaluation), for the end table
    for stage in cfg.stages:
        if ckpt_path is not None and _finished(cfg, summary, stage, raised=stage == ckpt_stage):
            say("stage %s: finished before (summary.json), skipped", stage)
            continue  # finished before the stop
        say("%s", fit_banner(cfg, stage, run_dir, resumed=stage == ckpt_stage))
        start = time.perf_counter()
        runners[stage](cfg, run_dir, ckpt_path if stage == ckpt_stage else None, summary)
        elapsed[stage] = time.perf_counter() - start
        _barrier()  # DDP: other ranks wait for rank 0's evaluation and summary before the next stage
    say("%s", fit_table(summary.read(), run_dir, elapsed))
    return summary.read()


def _finished(cfg: DictConfig, summary: Summary, stage: str, raised: bool) -> bool:
    """In ``summary.json``, and (for the checkpoint's own stage) not asked for more frames than it trained."""
    figures = summary.stage(stage)
    if figures is None:
        return False
    return not (raised and "frames" in figures and int(cfg[stage].frames) > int(figures["frames"]))


def _barrier() -> None:
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


@hydra.main(version_base="1.3", config_path="../configs", config_name="fit")
def main(cfg: DictConfig) -> None:
    from batpal.console.session import command_session

    with command_session(cfg.run_dir, "fit"):  # <run dir>/fit.log; known third-party noise silenced
        fit(cfg)


if __name__ == "__main__":
    main()
