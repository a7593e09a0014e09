"""``python -m batpal.fit experiment=<name>``: runs pretrain -> calibrate -> adversarial into one run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from batpal.atomic import write_text_atomic
from batpal.checkpoints import checkpoint_stage, resolve_checkpoint
from batpal.config import validate
from batpal.config.validate import STAGES
from batpal.job_dirs import register_job_dir_resolver
from batpal.resume import check_resume, launching_rank, new_run
from batpal.stages import run_adversarial, run_calibrate, run_pretrain
from batpal.summary import Summary

RUNNERS = {"pretrain": run_pretrain, "calibrate": run_calibrate, "adversarial": run_adversarial}
register_job_dir_resolver()  # before @hydra.main composes: hydra.sweep.subdir uses it (multirun job dirs)


def fit(cfg: DictConfig) -> dict[str, Any]:
    """Validate, then run each stage in order; returns the run's summary (rank 0's view).

    Resuming (``ckpt_path``, this run's own checkpoint and an unchanged config but for budgets and logging): a
    stage already in ``summary.json`` is skipped (also the checkpoint's own, unless its frame budget was raised),
    the checkpoint's unfinished stage continues from it, later stages start fresh.
    """
    validate(cfg)
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
    for stage in cfg.stages:
        if ckpt_path is not None and _finished(cfg, summary, stage, raised=stage == ckpt_stage):
            continue  # finished before the stop
        RUNNERS[stage](cfg, run_dir, ckpt_path if stage == ckpt_stage else None, summary)
        _barrier()  # DDP: other ranks wait for rank 0's evaluation and summary before the next stage
    return summary.read()


def _finished(cfg: DictConfig, summary: Summary, stage: str, raised: bool) -> bool:
    """In ``summary.json``, and (for the checkpoint's own stage) not asked for more frames than it trained."""
    figures = summary.stage(stage)
    if figures is None:
        return False
    return not (raised and "frames" in figures and int(cfg[stage].frames) > int(figures["frames"]))


def _barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


@hydra.main(version_base="1.3", config_path="../configs", config_name="fit")
def main(cfg: DictConfig) -> None:
    fit(cfg)


if __name__ == "__main__":
    main()
