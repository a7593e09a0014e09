"""Build the Lightning Trainer of a stage from the config: loggers, checkpointing, epoch budget."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from batpal.checkpoints import checkpoint_dir
from batpal.modules import RolloutModule


def build_trainer(cfg: DictConfig, run_dir: Path, module: RolloutModule) -> L.Trainer:
    """A Trainer whose epochs (``iters_per_epoch`` iterations each) cover the module's frame budget."""
    # one version per stage: metrics/<stage>/metrics.csv, tensorboard/<stage>/
    loggers = [instantiate(lg, version=module.stage_name) for lg in cfg.logger.values()] if cfg.get("logger") else False
    every_epoch = ModelCheckpoint(
        dirpath=checkpoint_dir(run_dir),
        filename="epoch{epoch}",
        save_last=True,
        save_top_k=0,
        every_n_epochs=1,
        auto_insert_metric_name=False,
    )
    trainer: L.Trainer = instantiate(
        cfg.trainer, logger=loggers, callbacks=[every_epoch], default_root_dir=str(run_dir), max_epochs=1
    )
    module.world_size_hint = trainer.world_size
    trainer.fit_loop.max_epochs = module.num_epochs()
    return trainer
