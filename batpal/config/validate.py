"""The one validator of a composed config: every bad value fails in milliseconds, before any compute, naming its key.

Types and misspelt keys are refused earlier, by the schemas (``batpal.config.schema``) at composition.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from batpal.config.alpha import alpha
from batpal.config.schema import FitConfig
from batpal.envs.registry import allow_user_env, check_env_available, check_env_name
from batpal.render.families import check_render_env

STAGES = ("pretrain", "calibrate", "adversarial")
METHODS = ("batpal", "mappo", "eir_mappo", "gen_maxmin", "rap", "kt", "fixed_types")
PRIORS = ("uniform", "authors")
BELIEF_MODES = ("softmax", "sigmoid")
BELIEF_SOURCES = ("belief", "true", "none")
ADVERSARY_UPDATES = ("all", "drawn")
V0_ESTIMATES = ("bootstrap", "episodes")
ACTIVATIONS = ("relu", "tanh", "elu")
RENDER_FORMATS = ("gif", "mp4")


def _check(ok: bool, key: str, rule: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"{key} must be {rule}, got {value!r}.")


def _in(key: str, value: Any, allowed: tuple) -> None:
    _check(value in allowed, key, f"one of {', '.join(map(str, allowed))}", value)


def _between(key: str, value: float, low: float, high: float, *, low_open: bool, high_open: bool) -> None:
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    _check(math.isfinite(value) and above and below, key, f"in {interval}", value)


def _positive(key: str, value: float) -> None:
    _check(math.isfinite(value) and value > 0, key, "> 0", value)


def _at_least(key: str, value: int, low: int) -> None:
    _check(int(value) == value and value >= low, key, f"an integer >= {low}", value)


def validate_ppo(prefix: str, ppo: dict[str, Any]) -> None:
    """PPO settings of one node (``ppo`` or a stage's ``<stage>.ppo``, resolved)."""
    checks: dict[str, Callable[[str, Any], None]] = {
        "rollout_steps": lambda k, v: _at_least(k, v, 1),
        "gamma": lambda k, v: _between(k, v, 0.0, 1.0, low_open=True, high_open=True),
        "gae_lambda": lambda k, v: _between(k, v, 0.0, 1.0, low_open=False, high_open=False),
        "clip_epsilon": _positive,
        "entropy_coeff": lambda k, v: _check(math.isfinite(v) and v >= 0, k, ">= 0", v),
        "actor_lr": _positive,
        "critic_lr": _positive,
        "ppo_epochs": lambda k, v: _at_least(k, v, 1),
        "minibatches": lambda k, v: _at_least(k, v, 1),
        "max_grad_norm": _positive,
        "max_kl": _positive,
    }
    for key, value in ppo.items():
        if key in checks:
            checks[key](f"{prefix}.{key}", value)


def check_schema(cfg: DictConfig, schema: type) -> None:
    """Every key is a field of ``schema`` (a key appended with ``+``, e.g. ``+game.barrier_lambd=0.1``, is not
    checked at composition) and every value has its field's type."""
    try:
        OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.to_container(cfg, resolve=False))
    except (ConfigKeyError, ValidationError) as err:
        raise ValueError(f"config key {err.full_key!r}: {err.msg}") from err


def validate_env(env: DictConfig) -> None:
    """The env's name and sizes: batches of at least one env, and neither ``num_envs`` (training) nor ``eval_envs``
    (evaluations) above ``max_processes``, so no entry point asks for more StarCraft II processes than allowed."""
    allow_user_env(env.name)  # the command's own env.name: a module:function here is code the user named
    check_env_name(env.name)
    _at_least("env.num_envs", env.num_envs, 1)
    _at_least("env.max_episode_steps", env.max_episode_steps, 1)
    eval_envs, cap = env.get("eval_envs"), env.get("max_processes")
    if eval_envs is not None:
        _at_least("env.eval_envs", eval_envs, 1)
    if cap is None:
        return
    _at_least("env.max_processes", cap, 1)
    for key, value in (("num_envs", env.num_envs), ("eval_envs", eval_envs)):
        if value is not None and value > cap:
            raise ValueError(
                f"env.{key}={value} asks for more env instances at once (on SMAC, StarCraft II processes) than "
                f"env.max_processes={cap}: lower env.{key} or raise env.max_processes."
            )


def validate_run(cfg: DictConfig, stages: tuple[str, ...] = ()) -> None:
    """What every entry point shares: env, seed, model, the shared ``ppo`` and the named stages' budgets."""
    validate_env(cfg.env)
    _at_least("seed", cfg.seed, 0)
    widths = list(cfg.model.hidden)
    _check(len(widths) >= 1 and all(h >= 1 for h in widths), "model.hidden", "a non-empty list of widths >= 1", widths)
    _in("model.activation", cfg.model.activation, ACTIVATIONS)
    validate_ppo("ppo", OmegaConf.to_container(cfg.ppo, resolve=True))
    for stage in stages:
        node = cfg[stage]
        for key in ("frames", "eval_episodes", "iters_per_epoch"):
            _at_least(f"{stage}.{key}", node[key], 1)
        validate_ppo(f"{stage}.ppo", OmegaConf.to_container(node.ppo, resolve=True))
        if "eval_every" in node:  # a stage that trains the defender: its evaluation during training
            _at_least(f"{stage}.eval_every", node.eval_every, 0)  # frames; 0: off
            _at_least(f"{stage}.eval_during_episodes", node.eval_during_episodes, 1)
    if "calibrate" in stages:
        _at_least("calibrate.candidates", cfg.calibrate.candidates, 1)
        tol = float(cfg.calibrate.converge_tol)
        _check(0.0 <= tol < 1.0, "calibrate.converge_tol", "a share in [0, 1) (0: no convergence stop)", tol)
        _at_least("calibrate.converge_patience", cfg.calibrate.converge_patience, 1)
        _at_least("calibrate.converge_min_frames", cfg.calibrate.converge_min_frames, 0)


def validate(cfg: DictConfig) -> None:
    """``batpal.fit``'s config: stages, method, every stage's budget and PPO node, the game; then whether the env
    can be built at all (SMAC without StarCraft II: its install steps)."""
    check_schema(cfg, FitConfig)
    unknown = [s for s in cfg.stages if s not in STAGES]
    _check(not unknown, "stages", f"a list from {', '.join(STAGES)} (unknown: {unknown})", list(cfg.stages))
    _in("method", cfg.method, METHODS)
    validate_game(cfg)  # first: a stage's PPO node may follow a game value (calibrate.ppo.actor_lr: alpha)
    validate_run(cfg, STAGES)
    check_env_available(cfg.env.name, cfg.env.kwargs)  # SMAC without StarCraft II: install steps; a user's env
    check_victims(cfg)


def validate_game(cfg: DictConfig) -> None:
    """The type game (sections 3-4): sizes, sets of names, shares in range, lambda > 0, Vmax > Vmin^v (eq. 3),
    zeta below half a band (severity scale: zeta < 1 / (2 K)), and alpha >= beta (eq. 16-17: a warning)."""
    game = cfg.game
    _at_least("game.K", game.K, 1)
    _at_least("game.victims", game.victims, 1)
    _in("game.prior", game.prior, PRIORS)
    _between("game.benign_prob", game.benign_prob, 0.0, 1.0, low_open=False, high_open=True)
    _between("game.world1_fraction", game.world1_fraction, 0.0, 1.0, low_open=True, high_open=False)
    _positive("game.barrier_lambda", game.barrier_lambda)
    _check(math.isfinite(game.zeta) and game.zeta >= 0, "game.zeta", ">= 0", game.zeta)
    fixed = list(game.fixed_adversaries)
    if not fixed:  # fixed psi_k (KT, Fixed Types) take no EC-PPO step, so eq. 14's guard does not bind
        check_zeta(float(game.zeta), int(game.K))
    _positive("game.adversary_lr", game.adversary_lr)
    if game.constrained_adversary_lr is not None:
        _positive("game.constrained_adversary_lr", game.constrained_adversary_lr)
    _check(game.adversary_entropy_coeff >= 0, "game.adversary_entropy_coeff", ">= 0", game.adversary_entropy_coeff)
    _positive("game.belief_lr", game.belief_lr)
    _at_least("game.belief_hidden", game.belief_hidden, 1)
    _between("game.belief_batch", game.belief_batch, 0.0, 1.0, low_open=True, high_open=False)
    _in("game.belief_mode", game.belief_mode, BELIEF_MODES)
    _in("game.belief_source", str(game.belief_source).lower(), BELIEF_SOURCES)
    _between("game.teacher_forcing_until", game.teacher_forcing_until, 0.0, 1.0, low_open=False, high_open=False)
    _in("game.adversary_updates", game.adversary_updates, ADVERSARY_UPDATES)
    _in("game.v0_estimate", game.v0_estimate, V0_ESTIMATES)
    _between("game.attack_prob", game.attack_prob, 0.0, 1.0, low_open=True, high_open=False)
    _between("game.v0_smoothing", game.v0_smoothing, 0.0, 1.0, low_open=False, high_open=True)
    if fixed:
        _check(len(fixed) == game.K, "game.K", f"the number of game.fixed_adversaries ({len(fixed)})", game.K)
    elif game.constrained and game.world1_fraction >= 1.0 and "adversarial" in cfg.stages:
        raise ValueError(
            "game.world1_fraction=1 leaves no world-0 envs, so V(0) and the bands of eq. 14 cannot be estimated: "
            "use a fraction in (0, 1), or game.constrained=false (EIR-MAPPO, Gen-Maxmin, RAP)."
        )
    _check_bounds(game)
    beta = float(cfg.adversarial.ppo.actor_lr)
    if alpha(game) < beta:
        key = "game.constrained_adversary_lr" if alpha(game) != float(game.adversary_lr) else "game.adversary_lr"
        warnings.warn(
            f"{key} (alpha={alpha(game)}) < adversarial.ppo.actor_lr (beta={beta}): the "
            "two-timescale update (eq. 16-17) assumes alpha >= beta so that psi_k tracks a quasi-static pi_omega.",
            stacklevel=3,
        )


def _vmins(vmin: Any) -> list[float] | None:
    if vmin is None:
        return None
    return [float(x) for x in vmin] if OmegaConf.is_list(vmin) or isinstance(vmin, list) else [float(vmin)]


def _check_bounds(game: DictConfig) -> None:
    """Vmax > every Vmin^v (eq. 3)."""
    vmins = _vmins(game.vmin)
    if vmins is not None and not vmins:
        raise ValueError("game.vmin must be a number or a non-empty per-victim(-set) list, got [].")
    if game.vmax is None or vmins is None:
        return
    for v, low in enumerate(vmins):
        if not float(game.vmax) > low:
            raise ValueError(f"game.vmax must exceed game.vmin (eq. 3): vmax={game.vmax}, vmin[{v}]={low}.")


def check_zeta(zeta: float, K: int) -> None:
    """Eq. 14's interior [l + zeta, h - zeta] must not be empty: on the severity scale a band is 1/K wide, so
    zeta < 1 / (2 K), whatever the calibrated Vmin^v."""
    if not zeta < 1 / (2 * K):
        raise ValueError(
            f"game.zeta={zeta} must be smaller than half a band, 1/(2K) = {1 / (2 * K):.4g} with game.K={K} (zeta is "
            "on the severity scale, a share of Vmax - Vmin^v): eq. 14's interior [l + zeta, h - zeta] would be empty."
        )


def check_victims(cfg: DictConfig) -> None:
    """1 <= game.victims < N (appendix D.5: one agent at least stays on the team) and one Vmin per victim set when
    game.vmin is a list; N is read off a one-env instance, built only when needed."""
    victims, vmins = int(cfg.game.victims), _vmins(cfg.game.vmin)
    if victims == 1 and (vmins is None or len(vmins) == 1):
        return
    from batpal.game.types import TypeSpace
    from batpal.modules.mappo import env_dims

    n_agents = env_dims(cfg.env.name, int(cfg.seed), OmegaConf.to_container(cfg.env.kwargs))["n_agents"]
    if victims >= n_agents:
        raise ValueError(
            f"game.victims={victims} must be < the {n_agents} agents of env {cfg.env.name!r}: "
            "at least one agent must stay on the team."
        )
    n_sets = TypeSpace(n_agents, 1, victims).n_sets
    if vmins is not None and len(vmins) not in (1, n_sets):
        raise ValueError(
            f"game.vmin lists {len(vmins)} values; it must be one number or one per victim set ({n_sets} sets of "
            f"{victims} of {n_agents} agents)."
        )


def validate_render(cfg: DictConfig) -> None:
    """``batpal.evaluate``'s video settings when ``render=true``: a renderable env, episodes >= 1, a frame rate a GIF
    can hold (1..50 a second: GIF delays are in hundredths), a frame side of 64..1024 pixels, gif or mp4."""
    if not cfg.get("render", False):
        return
    check_render_env(cfg.env.name)
    _at_least("render_episodes", cfg.render_episodes, 1)
    _check(1 <= cfg.render_fps <= 50, "render_fps", "frames a second in 1..50", cfg.render_fps)
    _check(64 <= cfg.render_size <= 1024, "render_size", "a frame side in pixels in 64..1024", cfg.render_size)
    _in("render_format", cfg.render_format, RENDER_FORMATS)
