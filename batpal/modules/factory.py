"""Build each stage's module from a composed config (and load a finished run's): the modules take typed configs."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from batpal.artifacts import REFERENCE_POLICY
from batpal.config.settings import env_config, game_config, model_config, stage_ppo
from batpal.modules.batpal import BATPALModule
from batpal.modules.calibration import CalibrationModule
from batpal.modules.game import GameSetup
from batpal.modules.mappo import MAPPOModule
from batpal.safe_load import load_weights


def build_pretrain_module(cfg: DictConfig) -> MAPPOModule:
    """MAPPO on ``cfg.env`` with the pretrain stage's budget and PPO settings."""
    stage = cfg.pretrain
    return MAPPOModule(env_config(cfg), stage_ppo(cfg, "pretrain"), model_config(cfg), total_frames=stage.frames,
                       iters_per_epoch=stage.iters_per_epoch, seed=cfg.seed)


def game_setup(cfg: DictConfig, run_dir: Path, stage: str) -> GameSetup:
    """The typed configs, ``stage``'s PPO settings and budget, and the run's pi0."""
    budget = cfg[stage]
    return GameSetup(env_config(cfg), stage_ppo(cfg, stage), game_config(cfg), model_config(cfg), int(budget.frames),
                     int(budget.iters_per_epoch), int(cfg.seed), str(run_dir / REFERENCE_POLICY))


def build_calibration_module(cfg: DictConfig, run_dir: Path) -> CalibrationModule:
    """The worst-case candidates against the run's pi0, with the calibrate stage's budget and PPO settings."""
    return CalibrationModule(game_setup(cfg, run_dir, "calibrate"), int(cfg.calibrate.candidates))


def build_batpal_module(cfg: DictConfig, run_dir: Path, vmax: float, vmin: float | list[float]) -> BATPALModule:
    """BATPAL's module (Algorithm 1) against the run's pi0, with the adversarial stage's budget and PPO settings."""
    return BATPALModule(game_setup(cfg, run_dir, "adversarial"), vmax, vmin)


def calibrated_bounds(cfg: DictConfig, calibrated: dict) -> tuple[float, float | list[float]]:
    """(Vmax, Vmin) for the game: the config's numbers where set (paper Table 7), else the calibrate stage's."""
    vmax = cfg.game.vmax if cfg.game.vmax is not None else calibrated.get("vmax")
    vmin = cfg.game.vmin if cfg.game.vmin is not None else calibrated.get("vmin")
    if vmax is None or vmin is None:
        raise ValueError("the adversarial stage needs Vmax and Vmin: run the calibrate stage or set game.vmax/vmin.")
    vmin = float(vmin) if isinstance(vmin, int | float) else [float(x) for x in vmin]
    return float(vmax), vmin


def load_game_module(run_dir: str | Path, weights: str = "defender.pt") -> BATPALModule:
    """A finished run's BATPAL module (pi_omega, chi, phi, psi_1..K, frozen pi0), rebuilt from its directory.

    The config comes from ``config.yaml``, Vmax / Vmin from ``summary.json`` (or the config's overrides), the
    weights from ``weights``; a clear error if any of them is missing. Returned on CPU in eval mode.
    """
    from batpal.summary import Summary

    run_dir = Path(run_dir)
    for name in ("config.yaml", weights, REFERENCE_POLICY):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir} has no {name}: is it the directory of a finished BATPAL run?")
    cfg = OmegaConf.load(run_dir / "config.yaml")
    try:
        vmax, vmin = calibrated_bounds(cfg, Summary(run_dir / "summary.json").stage("calibrate") or {})
    except ValueError as err:
        raise ValueError(f"{run_dir}: neither summary.json nor config.yaml gives Vmax / Vmin.") from err
    state = load_weights(run_dir / weights, "defender weights")  # data only: a file holding code is refused
    module = build_batpal_module(cfg, run_dir, vmax, vmin)
    module.load_state_dict(state)
    return module.eval()
