"""Stage ``pretrain``: MAPPO trains pi0; its evaluation gives return_mean and Vmax (pi0's discounted return)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf

from batpal.artifacts import REFERENCE_POLICY, save_reference_policy
from batpal.config.settings import eval_envs
from batpal.eval import evaluate_policy, normalized_return
from batpal.eval.during_training import EvalDuringTraining, curves
from batpal.modules.factory import build_pretrain_module
from batpal.stages.trainer import fit_stage, play
from batpal.summary import Summary


def run_pretrain(cfg: DictConfig, run_dir: Path, ckpt_path: Path | None, summary: Summary) -> dict[str, Any] | None:
    """Train (or resume) pi0, then on rank 0 evaluate it, save ``pi0.pt`` and the summary entry."""
    L.seed_everything(cfg.seed, workers=True)
    module = build_pretrain_module(cfg)
    if not fit_stage(cfg, run_dir, module, ckpt_path, callbacks=eval_during_training(cfg)):
        return None  # another DDP rank: rank 0 evaluates and writes
    result = play(cfg, module.actor, cfg.pretrain.eval_episodes, seed=cfg.seed + 10_000)
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


def eval_during_training(cfg: DictConfig) -> list[EvalDuringTraining]:
    """``pretrain.eval_every``: pi0 so far with no attack, ``pretrain.eval_during_episodes`` episodes on seeds of
    its own, on the module's device."""
    if not cfg.pretrain.eval_every:
        return []

    def evaluate(module: Any) -> dict[str, float | None]:
        result = evaluate_policy(
            module.actor, cfg.env.name, cfg.pretrain.eval_during_episodes, seed=cfg.seed + 20_000,
            gamma=cfg.ppo.gamma, max_episode_steps=cfg.env.max_episode_steps, num_envs=eval_envs(cfg),
            device=module.device, env_kwargs=OmegaConf.to_container(cfg.env.kwargs),
        ).summary()
        return curves("no_attack", result | {"return_normalized": normalized_return(cfg.env.name,
                                                                                     result["return_mean"])})

    return [EvalDuringTraining(evaluate, cfg.pretrain.eval_every)]
