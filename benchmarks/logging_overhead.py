"""What logging one iteration's figures costs: Lightning's ``self.log_dict`` of N scalar tensors against one
``logger.log_metrics`` row (what ``RolloutModule`` writes), in a Trainer with a CSV logger and manual optimization,
as the stages run. Prints milliseconds per training step for each way and for none (the loop's own cost).

    python benchmarks/logging_overhead.py [--values 62] [--steps 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger

WAYS = ("none", "self.log_dict", "one logger row")


class Logs(L.LightningModule):
    """A training step that only logs ``values`` scalars the chosen way (and steps a tiny optimizer)."""

    def __init__(self, values: int, way: str) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.values, self.way, self.layer = values, way, torch.nn.Linear(2, 2)

    def training_step(self, batch: int, index: int) -> None:
        figures = {f"train/v{i}": torch.tensor(float(i)) for i in range(self.values)}
        if self.way == "self.log_dict":
            self.log_dict(figures, on_step=True, on_epoch=False, batch_size=1)
        elif self.way == "one logger row":
            row = dict(zip(figures, torch.stack(list(figures.values())).tolist(), strict=True))
            for logger in self.loggers:
                logger.log_metrics(row, step=index)
                logger.save()
        self.optimizers().step()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self) -> list[int]:
        return list(range(self.steps))


def time_way(values: int, way: str, steps: int) -> float:
    """Milliseconds per training step."""
    with tempfile.TemporaryDirectory() as out:
        module = Logs(values, way)
        module.steps = steps
        trainer = L.Trainer(max_epochs=1, logger=CSVLogger(out), enable_checkpointing=False, log_every_n_steps=1,
                            enable_progress_bar=False, enable_model_summary=False)
        start = time.perf_counter()
        trainer.fit(module)
        return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=62, help="figures per step (the adversarial stage logs ~62)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="the ways alternate; medians are printed")
    args = parser.parse_args()
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    for _ in range(args.repeats):
        for way in WAYS:
            times[way].append(time_way(args.values, way, args.steps))
    for way in WAYS:
        print(f"{way:>15}: {statistics.median(times[way]):6.2f} ms per step ({args.values} values, "
              f"{args.steps} steps, median of {args.repeats})")


if __name__ == "__main__":
    main()
