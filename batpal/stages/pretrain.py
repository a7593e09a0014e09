"""Stage ``pretrain``: MAPPO trains pi0; its evaluation gives return_mean and Vmax (pi0's discounted return)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from batpal.artifacts import REFERENCE_POLICY, save_reference_policy
from batpal.eval import evaluate_policy, normalized_return
from batpal.modules import MAPPOModule
from batpal.stages.trainer import build_trainer
from batpal.summary import Summary


def build_pretrain_module(cfg: DictConfig) -> MAPPOModule:
    """The MAPPO module of ``cfg.algo`` on ``cfg.env`` with the pretrain frame budget."""
    return instantiate(
        cfg.algo,
        env_name=cfg.env.name,
        num_envs=cfg.env.num_envs,
        total_frames=cfg.pretrain.frames,
        seed=cfg.seed,
        iters_per_epoch=cfg.pretrain.iters_per_epoch,
        hidden=list(cfg.model.hidden),
        activation=cfg.model.activation,
        env_kwargs=OmegaConf.to_container(cfg.env.kwargs),
        _convert_="all",
    )


def run_pretrain(cfg: DictConfig, run_dir: Path, ckpt_path: Path | None, summary: Summary) -> dict[str, Any] | None:
    """Train (or resume) pi0, then on rank 0 evaluate it, save ``pi0.pt`` and the summary entry."""
    L.seed_everything(cfg.seed, workers=True)
    module = build_pretrain_module(cfg)
    trainer = build_trainer(cfg, run_dir, module)
    trainer.fit(module, ckpt_path=str(ckpt_path) if ckpt_path else None)
    if not trainer.is_global_zero:
        return None
    module.actor.to("cpu")
    result = evaluate_policy(
        module.actor,
        cfg.env.name,
        cfg.pretrain.eval_episodes,
        seed=cfg.seed + 10_000,
        gamma=cfg.algo.gamma,
        max_episode_steps=cfg.env.max_episode_steps,
        env_kwargs=OmegaConf.to_container(cfg.env.kwargs),
    ).summary()
    save_reference_policy(run_dir / REFERENCE_POLICY, module.actor, cfg.env.name, module.dims, cfg.model)
    figures = {
        "frames": module.frames,
        "wall_s": round(module.wall_s, 2),
        "return_mean": result["return_mean"],
        "return_se": result["return_se"],
        "return_normalized": normalized_return(cfg.env.name, result["return_mean"]),
        "vmax": result["value_mean"],
        "vmax_ci95": result["value_ci95"],
        "eval_episodes": int(result["episodes"]),
    }
    if "win_rate" in result:
        figures["win_rate"] = result["win_rate"]
    summary.write_stage("pretrain", figures)
    return figures
