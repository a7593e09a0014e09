"""Callbacks that kill their own process with SIGKILL, to test that a killed run resumes exactly."""

from __future__ import annotations

import os
import signal

import lightning as L


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillAtEpochStart(L.Callback):
    """SIGKILL at the start of ``epoch`` of ``stage`` (the previous epoch's checkpoint is on disk by then)."""

    def __init__(self, stage: str, epoch: int) -> None:
        self.stage, self.epoch = stage, epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if pl_module.stage_name == self.stage and trainer.current_epoch == self.epoch:
            _kill()


class KillAfterBatch(L.Callback):
    """SIGKILL after the ``batch``-th iteration (0-based, over the whole stage) of ``stage``: mid-epoch."""

    def __init__(self, stage: str, batch: int) -> None:
        self.stage, self.batch = stage, batch

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        if pl_module.stage_name == self.stage and trainer.global_step >= 0 and self._done(pl_module) > self.batch:
            _kill()

    @staticmethod
    def _done(pl_module: L.LightningModule) -> int:
        return pl_module.frames // pl_module.frames_per_iteration


class KillAtTrainEnd(L.Callback):
    """SIGKILL when ``stage`` has trained its last iteration (its last checkpoint is written), before its final
    evaluation and summary."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if pl_module.stage_name == self.stage:
            _kill()
