"""``python -m batpal.fit experiment=<name>``: runs pretrain -> calibrate -> adversarial into one run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from batpal.checkpoints import checkpoint_stage, resolve_checkpoint
from batpal.config import validate
from batpal.job_dirs import register_job_dir_resolver
from batpal.stages import run_adversarial, run_calibrate, run_pretrain
from batpal.summary import Summary

RUNNERS = {"pretrain": run_pretrain, "calibrate": run_calibrate, "adversarial": run_adversarial}
register_job_dir_resolver()  # before @hydra.main composes: hydra.sweep.subdir uses it (multirun job dirs)


def fit(cfg: DictConfig) -> dict[str, Any]:
    """Validate, then run each stage in order; returns the run's summary (rank 0's view).

    Resuming (``ckpt_path``): the checkpoint's own stage continues from it; stages before it, already in
    ``summary.json``, are skipped; later stages start fresh.
    """
    validate(cfg)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = resolve_checkpoint(cfg.ckpt_path, run_dir)
    ckpt_stage = checkpoint_stage(ckpt_path) if ckpt_path else None
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    summary = Summary(run_dir / "summary.json")
    for stage in cfg.stages:
        if ckpt_path is not None and stage != ckpt_stage and summary.stage(stage) is not None:
            continue  # finished before the stop
        RUNNERS[stage](cfg, run_dir, ckpt_path if stage == ckpt_stage else None, summary)
        _barrier()  # DDP: other ranks wait for rank 0's evaluation and summary before the next stage
    return summary.read()


def _barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


@hydra.main(version_base="1.3", config_path="../configs", config_name="fit")
def main(cfg: DictConfig) -> None:
    fit(cfg)


if __name__ == "__main__":
    main()
