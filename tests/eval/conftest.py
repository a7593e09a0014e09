"""One tiny finished BATPAL run (pretrain -> calibrate -> adversarial) for every evaluation test, a MAPPO run
made from its pretrain stage (pi0 alone), and ``copy_run`` to fake other runs from them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from tests.conftest import CONFIGS
from tests.tiny_run import tiny_game_run


@pytest.fixture(scope="session")
def game_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny BATPAL run directory (K = 4, MPE-Spread): the session's ``tests/tiny_run.py``, only read."""
    return tiny_game_run(tmp_path_factory)


@pytest.fixture(scope="session")
def mappo_run(game_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MAPPO run (method mappo, stages [pretrain]): the BATPAL run's config, pi0, pretrain summary and metrics."""
    dest = tmp_path_factory.mktemp("runs") / "mappo"
    return copy_run(game_run, dest, stages=["pretrain"], method="mappo", drop=["defender.pt"])


def copy_run(
    source: Path,
    dest: Path,
    *,
    stages: Sequence[str] | None = None,
    method: str | None = None,
    done: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    **config: object,
) -> Path:
    """A copy of run ``source`` (no checkpoints) whose config says ``stages`` / ``method`` / ``config`` (dotted
    keys, ``__`` for dots), whose summary.json and metrics keep only the stages in ``done`` (default: ``stages``)
    and which lacks the files in ``drop``."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
    cfg = OmegaConf.load(dest / "config.yaml")
    if stages is not None:
        cfg.stages = list(stages)
    if method is not None:
        cfg.method = method
    for key, value in config.items():
        OmegaConf.update(cfg, key.replace("__", "."), value)
    OmegaConf.save(cfg, dest / "config.yaml")
    keep = done if done is not None else stages
    if keep is not None:
        summary = json.loads((dest / "summary.json").read_text())
        (dest / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if k in keep}))
        for metrics in (dest / "metrics").glob("*"):
            if metrics.name not in keep:
                shutil.rmtree(metrics)
    for name in drop:
        (dest / name).unlink()
    return dest


def compose_evaluate(*overrides: str) -> DictConfig:
    """``evaluate.yaml`` composed with ``overrides``, as ``python -m batpal.evaluate`` would."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("evaluate", overrides=list(overrides))
