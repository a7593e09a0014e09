"""Build the BATPAL module of the calibrate and adversarial stages from the config and earlier stages."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from batpal.artifacts import REFERENCE_POLICY
from batpal.modules.batpal import BATPALModule

GAME_HPARAMS = (
    "victims",
    "prior",
    "benign_prob",
    "world1_fraction",
    "barrier_lambda",
    "zeta",
    "clip_epsilon",
    "entropy_coeff",
    "adversary_entropy_coeff",
    "policy_lr",
    "adversary_lr",
    "critic_lr",
    "belief_lr",
    "ppo_epochs",
    "minibatches",
    "belief_mode",
    "teacher_forcing_until",
    "warm_start",
    "adversary_warm_start",
    "adversary_updates",
    "constrained",
    "attack_prob",
    "ec_clip",
    "v0_smoothing",
    "belief_batch",
)


CALIBRATE_FIXED = ("attack_prob",)  # the worst case of calibrate acts at every step, whatever the method


def build_game_module(
    cfg: DictConfig, run_dir: Path, *, calibrate: bool, vmax: float, vmin: float | list[float]
) -> BATPALModule:
    """The same module for both stages: ``calibrate`` = world 0 only, K = 1, no barrier, no defender update."""
    stage = cfg.calibrate if calibrate else cfg.adversarial
    game = cfg.game
    fixed = [str(p) for p in game.get("fixed_adversaries", [])]
    return BATPALModule(
        env_name=cfg.env.name,
        num_envs=cfg.env.num_envs,
        rollout_steps=cfg.algo.rollout_steps,
        total_frames=stage.frames,
        seed=cfg.seed,
        reference_policy=str(run_dir / REFERENCE_POLICY),
        vmax=vmax,
        vmin=vmin,
        K=1 if calibrate else (len(fixed) if fixed else game.K),
        fixed_adversaries=[] if calibrate else fixed,
        belief_source=_belief_source(game.get("belief_source", "belief")),
        iters_per_epoch=stage.iters_per_epoch,
        calibrate=calibrate,
        max_episode_steps=cfg.env.max_episode_steps,
        gamma=cfg.algo.gamma,
        gae_lambda=cfg.algo.gae_lambda,
        max_grad_norm=cfg.algo.max_grad_norm,
        hidden=list(cfg.model.hidden),
        activation=cfg.model.activation,
        env_kwargs=OmegaConf.to_container(cfg.env.kwargs),
        # a key missing from an older run's config takes the module's default
        **{key: game[key] for key in GAME_HPARAMS if key in game and not (calibrate and key in CALIBRATE_FIXED)},
    )


def _belief_source(value: object) -> str:
    """``game.belief_source=true`` arrives as a YAML boolean; the module wants the string."""
    return {True: "true", False: "none"}.get(value, value) if isinstance(value, bool) else str(value)


def load_game_module(run_dir: str | Path, weights: str = "defender.pt") -> BATPALModule:
    """A finished run's BATPAL module (pi_omega, chi, phi, psi_1..K, frozen pi0), rebuilt from its directory.

    The config comes from ``config.yaml``, Vmax / Vmin from ``summary.json`` (or the config's overrides), the
    weights from ``weights``; a clear error if any of them is missing. Returned on CPU in eval mode.
    """
    import torch

    from batpal.summary import Summary

    run_dir = Path(run_dir)
    for name in ("config.yaml", weights, REFERENCE_POLICY):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir} has no {name}: is it the directory of a finished BATPAL run?")
    cfg = OmegaConf.load(run_dir / "config.yaml")
    calibrated = Summary(run_dir / "summary.json").stage("calibrate") or {}
    vmax = cfg.game.vmax if cfg.game.vmax is not None else calibrated.get("vmax")
    vmin = cfg.game.vmin if cfg.game.vmin is not None else calibrated.get("vmin")
    if vmax is None or vmin is None:
        raise ValueError(f"{run_dir}: neither summary.json nor config.yaml gives Vmax / Vmin.")
    vmin = float(vmin) if isinstance(vmin, int | float) else [float(x) for x in vmin]
    module = build_game_module(cfg, run_dir, calibrate=False, vmax=float(vmax), vmin=vmin)
    state = torch.load(run_dir / weights, map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    return module.eval()
