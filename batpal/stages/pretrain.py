"""Stage ``pretrain``: MAPPO trains pi0; its evaluation gives return_mean and Vmax (pi0's discounted return)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig

from batpal.artifacts import REFERENCE_POLICY, save_reference_policy
from batpal.eval import normalized_return
from batpal.modules.factory import build_pretrain_module
from batpal.stages.trainer import fit_stage, play
from batpal.summary import Summary


def run_pretrain(cfg: DictConfig, run_dir: Path, ckpt_path: Path | None, summary: Summary) -> dict[str, Any] | None:
    """Train (or resume) pi0, then on rank 0 evaluate it, save ``pi0.pt`` and the summary entry."""
    L.seed_everything(cfg.seed, workers=True)
    module = build_pretrain_module(cfg)
    if not fit_stage(cfg, run_dir, module, ckpt_path):
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
