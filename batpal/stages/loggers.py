"""A stage's Lightning loggers from ``cfg.logger``: each logs the stage as its own run, in the argument its class
takes for that (CSV and TensorBoard a ``version`` folder, wandb a run ``name``, MLflow a ``run_name``)."""

from __future__ import annotations

from pathlib import Path

from hydra.utils import get_class, instantiate
from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

# The keyword that names a stage's run, per logger class (first match); a class not listed is passed nothing.
STAGE_KEYWORD: tuple[tuple[type[Logger], str], ...] = (
    (CSVLogger, "version"),
    (TensorBoardLogger, "version"),
    (WandbLogger, "name"),  # WandbLogger's ``version`` is the wandb run id (a resume key), not a label
    (MLFlowLogger, "run_name"),
)


def stage_loggers(cfg: DictConfig, run_dir: Path, stage: str) -> list[Logger]:
    """Every logger of ``cfg.logger`` (name -> ``_target_`` config), its run named after the stage (``log_version``)."""
    version = log_version(run_dir, stage)
    return [instantiate(lg, **stage_argument(get_class(lg._target_), version)) for lg in cfg.logger.values()]


def stage_argument(target: type, version: str) -> dict[str, str]:
    """``{keyword: version}`` for a logger class of ``STAGE_KEYWORD``; ``{}`` for any other class."""
    for cls, keyword in STAGE_KEYWORD:
        if issubclass(target, cls):
            return {keyword: version}
    return {}


def log_version(run_dir: Path, stage: str) -> str:
    """``<stage>`` for a fresh stage; a resumed one logs as ``<stage>-resumed<i>`` (metrics/ and tensorboard/ get new
    folders) so no history is overwritten."""

    def logged(version: str) -> bool:
        return any((run_dir / folder / version).exists() for folder in ("metrics", "tensorboard"))

    if not logged(stage):
        return stage
    i = 1
    while logged(f"{stage}-resumed{i}"):
        i += 1
    return f"{stage}-resumed{i}"


class WandbStageLogger(WandbLogger):
    """Lightning's WandbLogger whose ``finalize`` also finishes its wandb run, so the next stage's logger starts a
    run of its own (Lightning's would reuse the run still open)."""

    @rank_zero_only
    def finalize(self, status: str) -> None:
        super().finalize(status)
        if self._experiment is not None:
            self._experiment.finish(exit_code=0 if status == "success" else 1)
