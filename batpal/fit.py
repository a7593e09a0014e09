"""``python -m batpal.fit experiment=<name>``: runs the configured stages into one run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from batpal.checkpoints import resolve_checkpoint
from batpal.config import validate
from batpal.stages import run_pretrain
from batpal.summary import Summary


def fit(cfg: DictConfig) -> dict[str, Any]:
    """Validate, then run each stage in order; returns the run's summary (rank 0's view)."""
    validate(cfg)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = resolve_checkpoint(cfg.ckpt_path, run_dir)
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    summary = Summary(run_dir / "summary.json")
    if "pretrain" in cfg.stages:
        run_pretrain(cfg, run_dir, ckpt_path, summary)
    return summary.read()


@hydra.main(version_base="1.3", config_path="../configs", config_name="fit")
def main(cfg: DictConfig) -> None:
    fit(cfg)


if __name__ == "__main__":
    main()
