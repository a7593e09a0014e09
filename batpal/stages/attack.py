"""Stage ``attack`` (``python -m batpal.attack``): an RL attack trained against a frozen defender, then evaluated.

The adversary plays a uniformly drawn victim's slot against the frozen defender of ``defender`` with reward
-team_reward - c * detectability (d = -log pi0(a_v | o_v), ``batpal.objectives.detectability``). The run
directory (default ``runs/attacks/<experiment>/<attack>/seed<seed>``) gets ``config.yaml``,
``checkpoints/last.ckpt`` (``ckpt_path=last`` resumes exactly), ``metrics/attack/metrics.csv``, ``attack.pt``
(``batpal.attacks.trained``) and ``summary.json["attack"]``: frames, wall seconds, the team's return under the
attack (raw and paper-normalised) and the victim's mean detectability, next to the same figures without attack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf

from batpal.atomic import write_text_atomic
from batpal.attacks.checkpoint import load_trained_attack
from batpal.attacks.trained import ATTACK_FILE, check_kind, save_attack
from batpal.checkpoints import resolve_checkpoint
from batpal.config.schema import AttackStage
from batpal.config.settings import eval_envs, model_config, stage_ppo, to_object
from batpal.config.validate import validate_env
from batpal.envs.registry import check_env_available
from batpal.eval.attacked import evaluate_under_attack
from batpal.eval.defenders import Defender, load_defender
from batpal.modules.attack import AttackModule, single_victim
from batpal.objectives.detectability import check_detectability_unit
from batpal.resume import check_resume, launching_rank, new_run
from batpal.stages.trainer import fit_stage
from batpal.summary import Summary


def validate_attack(cfg: DictConfig) -> Defender:
    """Checks before any compute (the env and its sizes, attack name, c, a finished defender on the same env); the
    defender."""
    validate_env(cfg.env)  # before anything is loaded or built: no StarCraft II process beyond env.max_processes
    check_kind(str(cfg.attack.name))
    if not float(cfg.attack.c) >= 0:
        raise ValueError(f"attack.c (the detectability weight) must be >= 0, got {cfg.attack.c}.")
    check_detectability_unit(cfg.env.detectability_unit)
    if int(cfg.attack.frames) < 1:
        raise ValueError(f"attack.frames must be >= 1, got {cfg.attack.frames}.")
    if OmegaConf.is_missing(cfg, "defender") or not cfg.defender:
        raise ValueError("defender=<run dir> is required: the finished `python -m batpal.fit` run to attack.")
    defender = single_victim(load_defender(cfg.defender))  # clear errors: no config.yaml / pi0.pt, m > 1
    _check_finished(Path(cfg.defender))
    if defender.env_name != cfg.env.name:
        raise ValueError(
            f"defender {cfg.defender} plays {defender.env_name!r}, the experiment's env is {cfg.env.name!r}: "
            f"pass experiment={defender.env_name} (or the experiment of that env)."
        )
    check_env_available(cfg.env.name)
    return defender


def _check_finished(run_dir: Path) -> None:
    """Every stage the defender's run was asked for is in its summary (a killed BATPAL run is not a MAPPO one)."""
    stages = list(OmegaConf.load(run_dir / "config.yaml").get("stages", []))
    done = Summary(run_dir / "summary.json").read()
    missing = [stage for stage in stages if stage not in done]
    if missing:
        raise ValueError(
            f"defender {run_dir} has not finished stage(s) {missing}: resume it with "
            f"`python -m batpal.fit ... hydra.run.dir={run_dir} ckpt_path=last` first."
        )


def build_attack_module(cfg: DictConfig) -> AttackModule:
    """The PPO attack module of ``cfg.attack`` with the attack stage's PPO settings (``ppo`` + ``attack.ppo``)."""
    return AttackModule(
        str(Path(cfg.defender).resolve()),
        to_object(cfg.attack, AttackStage),
        stage_ppo(cfg, "attack"),
        model_config(cfg),
        num_envs=int(cfg.env.num_envs),
        seed=int(cfg.seed),
        detectability_unit=float(cfg.env.detectability_unit),
    )


def train_attack(cfg: DictConfig) -> dict[str, Any] | None:
    """Validate, train (or resume), then on rank 0 save ``attack.pt``, evaluate it and write the summary."""
    defender = validate_attack(cfg)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = resolve_checkpoint(cfg.ckpt_path, run_dir)
    if ckpt_path is not None:
        check_resume(cfg, run_dir, ckpt_path, ("attack",))  # this run's checkpoint, same config: before any write
    elif launching_rank():
        new_run(run_dir)
    write_text_atomic(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    L.seed_everything(cfg.seed, workers=True)
    module = build_attack_module(cfg)
    if not fit_stage(cfg, run_dir, module, ckpt_path):
        return None
    a = cfg.attack
    save_attack(
        run_dir / ATTACK_FILE,
        module.net,
        kind=str(a.name),
        env_name=defender.env_name,
        dims=defender.dims,
        hidden=list(cfg.model.hidden),
        activation=str(cfg.model.activation),
        c=float(a.c),
        defender=Path(cfg.defender).resolve(),
    )
    episodes, seed, batch = int(a.eval_episodes), int(cfg.seed) + 30_000, eval_envs(cfg)
    attacked = evaluate_under_attack(defender, load_trained_attack(run_dir), episodes, seed=seed, num_envs=batch)
    clean = evaluate_under_attack(defender, None, episodes, seed=seed, num_envs=batch)
    figures = {
        "kind": str(a.name),
        "c": float(a.c),
        "detectability_unit": float(cfg.env.detectability_unit),  # the reward's weight is c times this
        "defender": str(Path(cfg.defender).resolve()),
        "defender_name": defender.name,
        "frames": module.frames,
        "wall_s": round(module.wall_s, 2),
        **attacked.summary(defender.env_name),
        "no_attack": clean.summary(defender.env_name),
    }
    Summary(run_dir / "summary.json").write_stage("attack", figures)
    return figures
