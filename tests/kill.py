"""A callback that kills its own process with SIGKILL, to test that a killed run resumes exactly."""

from __future__ import annotations

import os
import signal

import lightning as L


class KillAtEpochStart(L.Callback):
    """SIGKILL at the start of ``epoch`` of ``stage`` (the previous epoch's checkpoint is on disk by then)."""

    def __init__(self, stage: str, epoch: int) -> None:
        self.stage, self.epoch = stage, epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if pl_module.stage_name == self.stage and trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)
