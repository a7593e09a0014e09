"""Calibrate's convergence stop: the worst-case search ends once the attacked team's return stops falling.

Lightning's ``EarlyStopping`` takes an absolute ``min_delta``; the drop a worst case achieves differs by env and
pi0 (about 100 return units on MPE), so the tolerance here is a share of the drop so far (Vmax's return minus the
best epoch). Hand-written for that relative tolerance; ``calibrate.frames`` stays the cap.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


class ConvergedStop(Callback):
    """Stops the stage after ``patience`` epochs in which the epoch's mean training return fell by less than
    ``tol`` x (``reference`` - best epoch so far), once ``min_frames`` are done. ``reference`` is pi0's return
    unattacked. Its state is checkpointed, so a resumed calibration stops exactly where one left alone would."""

    def __init__(self, reference: float, tol: float, patience: int, min_frames: int) -> None:
        self.reference, self.tol, self.patience, self.min_frames = float(reference), tol, patience, min_frames
        self.best, self.wait, self.stopped_at = math.inf, 0, None
        self._sum, self._count = 0.0, 0

    @property
    def state_key(self) -> str:
        return "ConvergedStop"

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.stopped_at is not None:  # resumed from the checkpoint written as it stopped: stop again at once
            trainer.should_stop = True

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: Any) -> None:
        value = trainer.callback_metrics.get("train/return")
        if value is not None and math.isfinite(float(value)):
            self._sum, self._count = self._sum + float(value), self._count + 1

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not self._count:
            return
        mean, self._sum, self._count = self._sum / self._count, 0.0, 0
        drop = max(self.reference - min(self.best, mean), 0.0)
        if mean < self.best - self.tol * drop:
            self.best, self.wait = mean, 0
        else:
            self.best, self.wait = min(self.best, mean), self.wait + 1
        frames = int(getattr(module, "frames", 0))
        if self.stopped_at is None and self.wait >= self.patience and frames >= self.min_frames:
            self.stopped_at = frames
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "stopped_at": self.stopped_at}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait, self.stopped_at = float(state["best"]), int(state["wait"]), state["stopped_at"]
