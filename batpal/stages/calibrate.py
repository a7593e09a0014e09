"""Stage ``calibrate``: Vmax = pi0's value, Vmin^v = the value the harshest of ``calibrate.candidates`` worst-case
PPO adversaries imposes on frozen pi0 with v as victim (eq. 3's bounds, which the paper set by hand in Table 7).
``game.vmax`` / ``game.vmin`` override.

With ``game.victims = m > 1`` v is a victim set: one worst case per set, listed in ``victim_sets`` order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from batpal.artifacts import REFERENCE_POLICY, load_reference_policy
from batpal.atomic import save_weights
from batpal.config.settings import eval_envs
from batpal.eval.game_eval import evaluate_type
from batpal.modules.calibration import CalibrationModule
from batpal.modules.factory import build_calibration_module
from batpal.stages.converged import ConvergedStop
from batpal.stages.trainer import fit_stage, play
from batpal.summary import Summary

CALIBRATION_ADVERSARY = "calibration_adversary.pt"


def reference_value(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """pi0 alone: mean discounted return (Vmax) with its 95% interval."""
    pi0, _ = load_reference_policy(run_dir / REFERENCE_POLICY)
    return play(cfg, pi0, cfg.calibrate.eval_episodes, seed=cfg.seed + 20_000)


def converged_stop(cfg: DictConfig, pi0_return: float) -> ConvergedStop | None:
    """The search's convergence stop (``calibrate.converge_tol`` > 0), relative to pi0's unattacked return."""
    c = cfg.calibrate
    if not c.converge_tol:
        return None
    return ConvergedStop(pi0_return, float(c.converge_tol), int(c.converge_patience), int(c.converge_min_frames))


def _evaluate_candidate(cfg: DictConfig, module: CalibrationModule, victim: int, r: int, seed: int) -> dict[str, Any]:
    """Candidate r against frozen pi0 on victim (set) ``victim``: ``calibrate.eval_episodes`` world-0 episodes."""
    return evaluate_type(
        module,
        int(module.space.type_index(torch.tensor(victim), torch.tensor(r))),
        world=0,
        episodes=cfg.calibrate.eval_episodes,
        seed=seed,
        max_episode_steps=cfg.env.max_episode_steps,
        num_envs=eval_envs(cfg),
    ).summary()


def worst_cases(cfg: DictConfig, module: CalibrationModule) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per victim (set): every candidate's value, then the harshest one evaluated afresh (other episodes), so that
    Vmin^v is not the minimum of R noisy estimates (which is biased low). Returns the fresh evaluations and what
    ``summary.json`` reports of the search: ``candidate_values[v][r]``, ``harshest_candidate[v]`` (1-based)."""
    values, harshest, worst = [], [], []
    for v in range(module.space.n_sets):
        found = [
            _evaluate_candidate(cfg, module, v, r, cfg.seed + 21_000 + 97 * v + r)["value_mean"]
            for r in range(1, module.K + 1)
        ]
        r_min = 1 + min(range(len(found)), key=found.__getitem__)
        values.append(found)
        harshest.append(r_min)
        worst.append(_evaluate_candidate(cfg, module, v, r_min, cfg.seed + 23_000 + v))
    return worst, {"candidate_values": values, "harshest_candidate": harshest}


def run_calibrate(cfg: DictConfig, run_dir: Path, ckpt_path: Path | None, summary: Summary) -> dict[str, Any] | None:
    """Train the worst-case adversary (or take the config's numbers), then write ``summary["calibrate"]``."""
    game = cfg.game
    if game.vmax is not None and game.vmin is not None:
        figures = {"vmax": float(game.vmax), "vmin": _per_victim(game.vmin), "source": "config"}
        summary.write_stage("calibrate", figures)
        return figures
    L.seed_everything(cfg.seed + 1, workers=True)
    pi0 = reference_value(cfg, run_dir)
    vmax = float(game.vmax) if game.vmax is not None else pi0["value_mean"]
    module = build_calibration_module(cfg, run_dir)
    stop = converged_stop(cfg, pi0["return_mean"])
    if not fit_stage(cfg, run_dir, module, ckpt_path, [stop] if stop else []):
        return None  # another DDP rank: rank 0 evaluates and writes
    save_weights(module.adversaries.state_dict(), run_dir / CALIBRATION_ADVERSARY, "calibration adversary")
    worst, candidates = worst_cases(cfg, module)
    vmin = _per_victim(game.vmin) if game.vmin is not None else [w["value_mean"] for w in worst]
    for v, low in enumerate(vmin if isinstance(vmin, list) else [vmin] * module.space.n_sets):
        if not low < vmax:
            raise RuntimeError(
                f"calibration found Vmin[{v}]={low:.3f} >= Vmax={vmax:.3f}: the worst-case adversary did not push "
                "pi0's value below Vmax, so eq. 3's bands cannot be formed. Likely causes: too small a budget "
                f"(calibrate.frames={cfg.calibrate.frames}), a learning rate that stalls or wrecks the adversary "
                f"(calibrate.ppo.actor_lr={cfg.calibrate.ppo.actor_lr}), a gamma that makes values flat "
                f"(ppo.gamma={cfg.ppo.gamma}), or a pi0 that did not learn (summary.json['pretrain']). Or set "
                "game.vmin (and game.vmax) by hand, as the paper's Table 7 does."
            )
    figures = {
        "frames": module.frames,
        "converged_at": stop.stopped_at if stop else None,  # frames when the convergence stop ended the search
        "wall_s": round(module.wall_s, 2),
        "vmax": vmax,
        "vmax_ci95": pi0["value_ci95"],
        "vmin": vmin,
        "vmin_ci95": [w["value_ci95"] for w in worst],
        "worst_case_return": [w["return_mean"] for w in worst],
        **candidates,
        "source": "calibrated" if game.vmax is None and game.vmin is None else "partly config",
    }
    if module.space.victims > 1:  # vmin, vmin_ci95 and worst_case_return are per victim set, in this order
        figures["victim_sets"] = [list(s) for s in module.space.sets]
    summary.write_stage("calibrate", figures)
    return figures


def _per_victim(vmin: Any) -> float | list[float]:
    return [float(x) for x in vmin] if OmegaConf.is_list(vmin) or isinstance(vmin, list) else float(vmin)
