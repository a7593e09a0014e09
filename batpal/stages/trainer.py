"""Build the Lightning Trainer of a stage from the config: loggers, checkpointing, epoch budget."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, ProgressBar
from omegaconf import DictConfig, OmegaConf

from batpal.atomic import save_weights
from batpal.checkpoints import checkpoint_dir
from batpal.config.settings import eval_envs
from batpal.console.progress import FramesProgressBar
from batpal.eval.episodes import evaluate_policy
from batpal.modules import RolloutModule
from batpal.resume import run_id
from batpal.stages.loggers import stage_loggers


def build_trainer(
    cfg: DictConfig, run_dir: Path, module: RolloutModule, callbacks: Sequence[Callback] = ()
) -> L.Trainer:
    """A Trainer whose epochs (``iters_per_epoch`` iterations each) cover the module's frame budget; ``callbacks``:
    the stage's own (calibrate's convergence stop)."""
    extra = [*callbacks, *(instantiate(cb) for cb in cfg.get("callbacks", {}).values())]  # + the user's (Hydra)
    extra += _progress_bar(cfg, extra)
    loggers = stage_loggers(cfg, run_dir, module.stage_name) if cfg.get("logger") else False
    every_epoch = ModelCheckpoint(
        dirpath=checkpoint_dir(run_dir),
        filename="last",  # the newest epoch only (no monitor + top-1 keeps the latest), as checkpoints/last.ckpt
        save_last=False,
        save_top_k=1,
        every_n_epochs=1,
        auto_insert_metric_name=False,
        enable_version_counter=False,  # one last.ckpt per run dir, overwritten by each stage in turn
    )
    trainer: L.Trainer = instantiate(
        cfg.trainer, logger=loggers, callbacks=[every_epoch, *extra], default_root_dir=str(run_dir), max_epochs=1
    )
    module.world_size_hint = trainer.world_size
    trainer.fit_loop.max_epochs = module.num_epochs()
    return trainer


def _progress_bar(cfg: DictConfig, callbacks: Sequence[Callback]) -> list[Callback]:
    """The stage's frames bar (name, frames / budget, frames per second, return, ETA) unless the bar is off or the
    user configured their own."""
    if not cfg.trainer.get("enable_progress_bar", True) or any(isinstance(cb, ProgressBar) for cb in callbacks):
        return []
    return [FramesProgressBar()]


def fit_stage(cfg: DictConfig, run_dir: Path, module: RolloutModule, ckpt_path: Path | None,
              callbacks: Sequence[Callback] = ()) -> bool:
    """Train (or resume) ``module`` with its stage's Trainer; True on rank 0, whose module is then on CPU in eval
    mode for the stage's evaluation and artefacts (the other ranks have nothing more to do)."""
    module.run_id = run_id(run_dir)  # into every checkpoint: a resume takes only this run's
    trainer = build_trainer(cfg, run_dir, module, callbacks)
    trainer.fit(module, ckpt_path=str(ckpt_path) if ckpt_path else None, weights_only=True)  # data only
    release_envs(module)
    save_replica(trainer, module, run_dir)
    if trainer.is_global_zero:
        module.to("cpu").eval()
    return trainer.is_global_zero


def release_envs(module: RolloutModule) -> None:
    """Shut the training collector and its envs down once the stage is trained: on SMAC its StarCraft II
    processes end before the stage's evaluation starts its own, so at most max(num_envs, eval_envs) run at once."""
    collector = getattr(module, "collector", None)
    if collector is not None:
        collector.shutdown()


def play(cfg: DictConfig, policy: Any, episodes: int, seed: int) -> dict[str, Any]:
    """``policy`` alone on the config's env (``eval_envs`` envs at a time): mean return and discounted value
    (gamma of ``ppo``) with 95% CIs."""
    return evaluate_policy(
        policy,
        cfg.env.name,
        episodes,
        seed=seed,
        gamma=cfg.ppo.gamma,
        max_episode_steps=cfg.env.max_episode_steps,
        num_envs=eval_envs(cfg),
        env_kwargs=OmegaConf.to_container(cfg.env.kwargs),
    ).summary()


def save_replica(trainer: L.Trainer, module: RolloutModule, run_dir: Path) -> None:
    """Under DDP, each rank's weights after its stage (``replicas/<stage>-rank<r>.pt``): the ranks must be equal."""
    if trainer.world_size > 1:
        (run_dir / "replicas").mkdir(exist_ok=True)
        save_weights(module.state_dict(), run_dir / "replicas" / f"{module.stage_name}-rank{trainer.global_rank}.pt")

