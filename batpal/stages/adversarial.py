"""Stage ``adversarial``: BATPAL (Algorithm 1), then the defender and pi0 evaluated against every psi_k.

With ``game.victims = m > 1`` psi_k attacks every victim set (``victim_sets`` in the summary) and the
per-victim figures become per set: ``bands[v]`` and ``severity_per_victim_set[v]`` for set ``victim_sets[v]``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig

from batpal.atomic import save_weights
from batpal.config.settings import eval_envs
from batpal.envs.registry import check_env_name
from batpal.eval import EvalResult, normalized_return
from batpal.eval.during_training import EvalDuringTraining, curves
from batpal.eval.game_batch import robustness
from batpal.eval.game_eval import evaluate_type
from batpal.modules.factory import build_batpal_module, calibrated_bounds
from batpal.stages.trainer import fit_stage
from batpal.summary import Summary

DEFENDER = "defender.pt"


def run_adversarial(cfg: DictConfig, run_dir: Path, ckpt_path: Path | None, summary: Summary) -> dict[str, Any] | None:
    vmax, vmin = calibrated_bounds(cfg, summary.stage("calibrate") or {})
    L.seed_everything(cfg.seed + 2, workers=True)
    module = build_batpal_module(cfg, run_dir, vmax, vmin)
    if not fit_stage(cfg, run_dir, module, ckpt_path, callbacks=eval_during_training(cfg)):
        return None  # another DDP rank: rank 0 evaluates and writes
    save_weights(module.state_dict(), run_dir / DEFENDER, "defender weights")
    figures = {
        "frames": module.frames,
        "wall_s": round(module.wall_s, 2),
        "K": module.space.K,
        "bands": module.bands.to_dict()["bands"],
    }
    if module.space.victims > 1:
        figures["victim_sets"] = [list(s) for s in module.space.sets]
    figures.update(evaluate_defender(cfg, module))
    summary.write_stage("adversarial", figures)
    return figures


def warn_if_outside_unit(k: int, eta: list[float], cfg: DictConfig) -> None:
    """A severity (eq. 3's eta) outside [0, 1] means V(0) left [Vmin, Vmax]: say which bound and the likely cause."""
    low, high = min(eta), max(eta)
    if low < 0.0:
        warnings.warn(
            f"psi_{k}'s measured severity {low:.3f} < 0: pi0 under psi_{k} did better than Vmax. Vmax is a noisy "
            f"estimate (calibrate.eval_episodes={cfg.calibrate.eval_episodes}) or psi_{k} helps the team.",
            stacklevel=2,
        )
    if high > 1.0:
        warnings.warn(
            f"psi_{k}'s measured severity {high:.3f} > 1: psi_{k} hurts pi0 more than calibration's worst case "
            f"(Vmin). Likely causes: a weak calibration (calibrate.frames={cfg.calibrate.frames}, "
            f"calibrate.ppo.actor_lr={cfg.calibrate.ppo.actor_lr}), a game.vmin set too high, or a gamma "
            f"(ppo.gamma={cfg.ppo.gamma}) whose values make the bands' spread tiny.",
            stacklevel=2,
        )


def eval_during_training(cfg: DictConfig) -> list[EvalDuringTraining]:
    """``adversarial.eval_every``: the defender with no attack and against each current psi_k (its return and
    severity, as the summary's), ``adversarial.eval_during_episodes`` per victim (set), in one batched rollout
    (``batpal.eval.game_batch``) on seeds of its own."""
    if not cfg.adversarial.eval_every:
        return []

    def evaluate(module: Any) -> dict[str, float | None]:
        report = robustness(module, cfg.adversarial.eval_during_episodes, seed=cfg.seed + 40_000,
                            max_episode_steps=cfg.env.max_episode_steps, num_envs=eval_envs(cfg))
        out = curves("no_attack", report.pop("no_attack"))
        for name, figures in report.items():
            out |= curves(name, figures) | {f"eval/severity/{name}": figures["severity"]}
        return out

    return [EvalDuringTraining(evaluate, cfg.adversarial.eval_every)]


def evaluate_defender(cfg: DictConfig, module: Any) -> dict[str, Any]:
    """No attack, then each psi_k on each victim (set): defender (world 1) vs pi0 (world 0), psi_k's severity."""
    space, bands, episodes = module.space, module.bands, cfg.adversarial.eval_episodes
    steps, seed, batch = cfg.env.max_episode_steps, cfg.seed + 30_000, eval_envs(cfg)

    def play(z: int, world: int, seed: int) -> EvalResult:
        return evaluate_type(module, z, world, episodes, seed=seed, max_episode_steps=steps, num_envs=batch)

    def figures(result: Any) -> dict[str, float | None]:
        s = result.summary()
        out = {"return_mean": s["return_mean"], "return_se": s["return_se"], "episodes": int(result.returns.numel()),
               "return_normalized": normalized_return(cfg.env.name, s["return_mean"])}
        bounds = check_env_name(cfg.env.name).return_bounds
        if bounds is not None:  # the standard error on the normalised scale: "below pi0 by more than one se"
            out["return_normalized_se"] = s["return_se"] / (bounds[1] - bounds[0])
        if "win_rate" in s:
            out["win_rate"] = s["win_rate"]
        return out

    report: dict[str, Any] = {"no_attack": figures(play(0, 1, seed))}
    for k in range(1, space.K + 1):
        defender, reference, eta = [], [], []
        for v in range(space.n_sets):
            z = int(space.type_index(torch.tensor(v), torch.tensor(k)))
            defender.append(play(z, 1, seed + 10 * k + v))
            on_pi0 = play(z, 0, seed + 100 * k + v)
            reference.append(on_pi0)
            eta.append(float(bands.severity(on_pi0.discounted.mean(), torch.tensor(v))))
        d = figures(EvalResult.concat(defender))
        r = figures(EvalResult.concat(reference))
        severity = sum(eta) / len(eta)
        warn_if_outside_unit(k, eta, cfg)
        report[f"psi_{k}"] = {
            "defender": d,
            "pi0": r,
            "severity": severity,
            "severity_per_victim" if space.victims == 1 else "severity_per_victim_set": eta,
            "band": [(k - 1) / space.K, k / space.K],
            "in_band": (k - 1) / space.K < severity <= k / space.K,
        }
    return report
