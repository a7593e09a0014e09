"""Every config group composes and instantiates, so a broken yaml fails here and not in a user's run."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
from hydra.utils import instantiate

from batpal.config import validate
from batpal.envs import ENVS
from batpal.modules import MAPPOModule
from batpal.modules.factory import build_pretrain_module
from tests.conftest import CONFIGS, TINY, compose_config

EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
ENV_CONFIGS = sorted(p.stem for p in (CONFIGS / "env").glob("*.yaml"))


def test_env_configs_and_registry_agree():
    assert set(ENV_CONFIGS) == set(ENVS)
    for name in ENV_CONFIGS:
        assert compose_config([f"env={name}"]).env.name == name


def test_every_experiment_of_the_issue_exists():
    assert {"mpe_spread", "lbf", "smac_2s3z", "smac_mmm", "smac_1c3s5z", "smac_11m"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_with_its_env(experiment):
    cfg = compose_config([f"experiment={experiment}"])
    assert cfg.experiment_name == experiment
    assert cfg.env.name == experiment
    assert cfg.pretrain.frames >= 1 and cfg.env.num_envs >= 1


@pytest.mark.parametrize("experiment", ["mpe_spread", "lbf"])
def test_runnable_experiments_validate_and_build_their_module(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}", *TINY], tmp_path)
    validate(cfg)
    module = build_pretrain_module(cfg)
    assert isinstance(module, MAPPOModule)
    assert not module.automatic_optimization
    assert len(module.configure_optimizers()) == 2  # actor and critic have separate optimizers


@pytest.mark.parametrize("trainer", ["default", "ddp_cpu"])
def test_trainer_configs_instantiate(trainer, tmp_path: Path):
    cfg = compose_config([f"trainer={trainer}"], tmp_path)
    assert isinstance(instantiate(cfg.trainer, logger=False, enable_checkpointing=False), L.Trainer)


def test_logger_config_writes_into_the_run_dir(tmp_path: Path):
    cfg = compose_config([], tmp_path)
    loggers = [instantiate(c) for c in cfg.logger.values()]
    assert {type(lg).__name__ for lg in loggers} == {"CSVLogger", "TensorBoardLogger"}
    assert all(Path(lg.save_dir) == tmp_path for lg in loggers)


def test_experiment_values_override_the_defaults_of_fit_yaml():
    """``_self_`` comes first in fit.yaml, so an experiment's top-level values (budgets) win."""
    cfg = compose_config(["experiment=mpe_spread"])
    assert cfg.pretrain.frames == 8_000_000 and cfg.adversarial.frames == 12_000_000
    assert compose_config(["experiment=mpe_spread", "pretrain.frames=5"]).pretrain.frames == 5  # CLI wins
