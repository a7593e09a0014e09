"""Bad input: a run, an attack or an evaluation asking for more env instances (on SMAC, StarCraft II processes) than
``env.max_processes`` fails naming the key, before any env is built or looked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import batpal.envs.registry as registry
from batpal.config.settings import eval_envs
from batpal.eval.run import evaluate
from batpal.fit import fit
from batpal.stages.attack import train_attack
from tests.conftest import CONFIGS, TINY, compose_config

TOO_MANY = [  # overrides on experiment=smac_2s3z (max_processes 16), the key the error must name
    (["env.num_envs=17"], "env.num_envs"),
    (["env.eval_envs=17"], "env.eval_envs"),
    (["env.max_processes=4"], "env.num_envs"),  # TINY's 16 training envs
    (["env.num_envs=4", "env.max_processes=4", "env.eval_envs=5"], "env.eval_envs"),
    (["env.eval_envs=0"], "env.eval_envs"),
    (["env.max_processes=0"], "env.max_processes"),
]
IDS = [" ".join(overrides) for overrides, _ in TOO_MANY]


@pytest.fixture(autouse=True)
def no_env(monkeypatch, tmp_path):
    """No env may be built, nor StarCraft II looked for: every factory and check is loaded through ``_load``."""

    def refuse(path: str):
        raise AssertionError(f"{path} was reached before the process limit was checked")

    monkeypatch.setattr(registry, "_load", refuse)
    monkeypatch.setenv("SC2PATH", str(tmp_path / "no_sc2_here"))


def _compose(entry: str, *overrides: str):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(entry, overrides=list(overrides))


@pytest.mark.parametrize(("overrides", "key"), TOO_MANY, ids=IDS)
def test_fit_refuses_more_processes_than_the_limit(tmp_path, overrides, key):
    cfg = compose_config([*TINY, "experiment=smac_2s3z", *overrides], tmp_path / "run")
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        fit(cfg)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("overrides", "key"), TOO_MANY, ids=IDS)
def test_evaluate_refuses_more_processes_than_the_limit(tmp_path, overrides, key):
    out = tmp_path / "eval"
    defenders = f"defenders=[{tmp_path / 'no_such_run'}]"  # never read: the limit comes first
    cfg = _compose("evaluate", "experiment=smac_2s3z", "env.num_envs=16", defenders, f"run_dir={out}", *overrides)
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        evaluate(cfg)
    assert not out.exists()


@pytest.mark.parametrize(("overrides", "key"), TOO_MANY, ids=IDS)
def test_attack_refuses_more_processes_than_the_limit(tmp_path, overrides, key):
    out = tmp_path / "attack"
    cfg = _compose(
        "attack",
        "experiment=smac_2s3z",
        "env.num_envs=16",
        f"defender={tmp_path / 'no_such_run'}",
        f"run_dir={out}",
        *overrides,
    )
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        train_attack(cfg)
    assert not out.exists()


def test_the_message_says_what_to_change(tmp_path):
    cfg = compose_config([*TINY, "experiment=smac_2s3z", "env.eval_envs=32"], tmp_path / "run")
    with pytest.raises(ValueError) as err:
        fit(cfg)
    message = str(err.value)
    assert "env.eval_envs=32" in message and "env.max_processes=16" in message and "StarCraft II" in message


def test_eval_envs_defaults_to_num_envs(tmp_path: Path):
    assert eval_envs(compose_config(["experiment=smac_2s3z"])) == 8
    assert eval_envs(compose_config(["experiment=smac_2s3z", "env.eval_envs=2"])) == 2
    assert eval_envs(compose_config(["experiment=mpe_spread", "env.num_envs=64"])) == 64
