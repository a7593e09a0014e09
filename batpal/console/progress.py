"""The training bar of a stage: its name, frames collected / the stage's budget, frames per second, the latest
training return and the time left, over the whole stage (Lightning's default counts batches of an epoch of
unknown length, so it shows neither a total nor an ETA)."""

from __future__ import annotations

import sys
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm


class FramesProgressBar(TQDMProgressBar):
    """``pretrain:  42%|████   | 3.36M/8.00M frames [12:01<16:35, 4.66k frames/s, return=-120.3]``; reads the
    module's ``stage_name``, ``frames`` and ``total_frames`` (``RolloutModule``). Redirected to a file, it redraws
    at most every ``file_interval_s`` seconds so a log does not fill with one line per iteration."""

    BAR_FORMAT = ("{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} frames "
                  "[{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]")

    def __init__(self, refresh_rate: int = 1, process_position: int = 0, file_interval_s: float = 30.0) -> None:
        super().__init__(refresh_rate=refresh_rate, process_position=process_position, leave=False)
        self.file_interval_s = file_interval_s

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        total = getattr(pl_module, "total_frames", None)
        frames = getattr(pl_module, "frames", 0)
        self.train_progress_bar = Tqdm(
            desc=str(getattr(pl_module, "stage_name", "training")),
            total=total,
            initial=min(frames, total) if total else frames,  # a resumed stage: the rate counts this run's frames
            unit=" frames",
            unit_scale=True,
            position=2 * self.process_position,
            disable=self.is_disabled,
            leave=True,
            dynamic_ncols=True,
            file=sys.stdout,
            smoothing=0,  # frames per second averaged over the stage: a steady ETA
            mininterval=0.1 if sys.stdout.isatty() else self.file_interval_s,
            miniters=1,
            bar_format=self.BAR_FORMAT,
        )

    def on_train_epoch_start(self, trainer: L.Trainer, *_: Any) -> None:
        """One bar for the whole stage: nothing to reset at an epoch."""

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if self.is_enabled and (batch_idx + 1) % self.refresh_rate == 0:
            self._advance(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The bar stays open across epochs."""

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.is_enabled:
            self._advance(trainer, pl_module)
        self.train_progress_bar.close()

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        """The latest training return (and win rate where the env has one); no version number."""
        metrics = trainer.progress_bar_metrics
        shown: dict[str, Any] = {}
        if "train/return" in metrics:
            shown["return"] = f"{float(metrics['train/return']):.1f}"
        if "train/win_rate" in metrics:
            shown["win_rate"] = f"{float(metrics['train/win_rate']):.2f}"
        return shown

    def _advance(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        bar = self.train_progress_bar
        frames = int(getattr(pl_module, "frames", bar.n))
        bar.set_postfix(self.get_metrics(trainer, pl_module), refresh=False)
        bar.update((min(frames, bar.total) if bar.total else frames) - bar.n)  # redraws at most every mininterval
