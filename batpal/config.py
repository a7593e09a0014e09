"""Checks of a composed config that run before any compute: a bad value fails in milliseconds, clearly."""

from __future__ import annotations

import warnings

from omegaconf import DictConfig, ListConfig, OmegaConf

from batpal.envs.registry import check_env_available, check_env_name

STAGES = ("pretrain", "calibrate", "adversarial")


def _at_least_one(cfg: DictConfig, *path: str) -> None:
    value = cfg
    for key in path:
        value = value[key]
    if int(value) < 1:
        raise ValueError(f"{'.'.join(path)} must be >= 1, got {value}.")


def validate(cfg: DictConfig) -> None:
    """Raise naming the offending override (env, sizes, stages, the game's K / Vmax / Vmin / lambda)."""
    check_env_name(cfg.env.name)
    for path in (
        ("env", "num_envs"),
        ("pretrain", "frames"),
        ("calibrate", "frames"),
        ("adversarial", "frames"),
        ("algo", "rollout_steps"),
        ("game", "K"),
    ):
        _at_least_one(cfg, *path)
    unknown = [s for s in cfg.stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stages {unknown}; known stages, in order: {', '.join(STAGES)}.")
    validate_game(cfg.game)
    check_env_available(cfg.env.name)  # e.g. smacv2 / StarCraft II absent: install steps, before any compute
    check_victims(cfg)


def check_victims(cfg: DictConfig) -> None:
    """1 <= game.victims < N (appendix D.5: at least one agent stays on the team); N read off a one-env instance,
    built only when ``victims`` > 1 (every env has N >= 2)."""
    victims = int(cfg.game.get("victims", 1))
    if victims < 1:
        raise ValueError(f"game.victims must be >= 1 (the number of agents an adversary takes over), got {victims}.")
    if victims == 1:
        return
    from batpal.modules.mappo import env_dims

    n_agents = env_dims(cfg.env.name, int(cfg.seed), OmegaConf.to_container(cfg.env.kwargs))["n_agents"]
    if victims >= n_agents:
        raise ValueError(
            f"game.victims={victims} must be < the {n_agents} agents of env {cfg.env.name!r}: "
            "at least one agent must stay on the team."
        )


def validate_game(game: DictConfig) -> None:
    """lambda > 0; Vmax > Vmin^v where both are given (eq. 3); shares in range; alpha < beta warns (eq. 16-17)."""
    if float(game.barrier_lambda) <= 0:
        raise ValueError(
            f"game.barrier_lambda must be > 0 (the log-barrier weight of eq. 9), got {game.barrier_lambda}."
        )
    if game.vmax is not None and game.vmin is not None:
        vmins = list(game.vmin) if isinstance(game.vmin, ListConfig | list) else [game.vmin]
        for v, vmin in enumerate(vmins):
            if not float(game.vmax) > float(vmin):
                raise ValueError(f"game.vmax must exceed game.vmin (eq. 3): vmax={game.vmax}, vmin[{v}]={vmin}.")
    if not 0.0 < float(game.get("belief_batch", 1.0)) <= 1.0:
        raise ValueError(f"game.belief_batch must lie in (0, 1] (a share of world-1 histories): {game.belief_batch}.")
    if not 0.0 <= float(game.get("v0_smoothing", 0.0)) < 1.0:
        raise ValueError(f"game.v0_smoothing must lie in [0, 1), got {game.v0_smoothing}.")
    if float(game.adversary_lr) < float(game.policy_lr):
        warnings.warn(
            f"game.adversary_lr (alpha={game.adversary_lr}) < game.policy_lr (beta={game.policy_lr}): the "
            "two-timescale update (eq. 16-17) assumes alpha >= beta.",
            stacklevel=2,
        )
