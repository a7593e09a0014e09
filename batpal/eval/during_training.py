"""Evaluation during training: every ``eval_every`` env frames, the defender being trained plays whole episodes
(with no attack, and in ``adversarial`` against each current psi_k), logged as ``eval/...`` curves.

The schedule is derived from the module's checkpointed ``frames`` (an iteration that crosses a multiple of
``eval_every`` evaluates), so a resumed run evaluates where one left alone did. The episodes are played on an env
and seed of their own, and every random stream training reads (torch's global RNG, numpy's, Python's and every
``torch.Generator`` the module holds, e.g. the teacher-forcing coins) is restored afterwards: training metrics are
the same with or without this callback. Under DDP rank 0 evaluates and logs; the other ranks go on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

Evaluate = Callable[[Any], dict[str, float | None]]  # the module -> {curve name: value}


def due(frames: int, frames_per_iteration: int, every: int) -> bool:
    """Whether the iteration that brought the run to ``frames`` crossed a multiple of ``every`` (0: never)."""
    if every <= 0:
        return False
    return frames // every > max(0, frames - frames_per_iteration) // every


@contextmanager
def isolated_rng(module: torch.nn.Module) -> Iterator[None]:
    """Every random stream training reads is as it was on entry when the block exits (its draws are forgotten)."""
    generators = [
        value for sub in module.modules() for value in vars(sub).values() if isinstance(value, torch.Generator)
    ]
    saved = [g.get_state() for g in generators]
    np_state, py_state = np.random.get_state(), random.getstate()
    device = next(module.parameters(), torch.empty(0)).device
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            yield
    finally:
        for g, state in zip(generators, saved, strict=True):
            g.set_state(state)
        np.random.set_state(np_state)
        random.setstate(py_state)


class EvalDuringTraining(Callback):
    """Calls ``evaluate(module)`` every ``every`` frames (rank 0) and logs its figures, with ``frames``, to every
    logger at the step of the iteration's training metrics; ``eval/seconds`` is what the evaluation took."""

    def __init__(self, evaluate: Evaluate, every: int) -> None:
        if int(every) != every or every < 0:
            raise ValueError(f"eval_every must be an integer >= 0 (frames; 0: off), got {every!r}.")
        self.evaluate, self.every = evaluate, int(every)
        self._done_at = -1  # the frames last evaluated: an epoch's end may call the hook again without an iteration

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        frames, per_iteration = int(pl_module.frames), int(pl_module.frames_per_iteration)
        if frames == self._done_at or not due(frames, per_iteration, self.every):
            return
        self._done_at = frames
        if not trainer.is_global_zero:
            return
        start = time.perf_counter()
        with torch.no_grad(), isolated_rng(pl_module):
            figures = self.evaluate(pl_module)
        metrics = {name: float(value) for name, value in figures.items() if value is not None}
        metrics |= {"frames": float(frames), "eval/seconds": time.perf_counter() - start}
        # the step the training metrics of this iteration are logged at (Lightning's count, which an epoch's end
        # may advance without an iteration); the iteration's index where a Lightning version has no such count
        step = getattr(trainer.fit_loop.epoch_loop, "_batches_that_stepped", frames // per_iteration - 1)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)


def curves(name: str, figures: dict[str, Any]) -> dict[str, float | None]:
    """One evaluation's curves under ``name`` (``no_attack``, ``psi_k``): return, normalised return (the paper's
    bounds; None on SMAC) and win rate (SMAC), from a stage summary's figures (``return_mean``, ...)."""
    return {
        f"eval/return/{name}": figures["return_mean"],
        f"eval/return_normalized/{name}": figures.get("return_normalized"),
        f"eval/win_rate/{name}": figures.get("win_rate"),
    }
