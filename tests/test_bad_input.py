"""Bad input fails before any compute, with an error that says what is wrong and what exists."""

from __future__ import annotations

import time

import pytest
from hydra.errors import MissingConfigException

from batpal.envs import make
from batpal.envs.smac import SMACUnavailableError
from batpal.fit import fit
from tests.conftest import compose_config


def test_unknown_experiment_lists_the_experiments():
    with pytest.raises(MissingConfigException) as err:
        compose_config(["experiment=no_such_experiment"])
    for name in ("mpe_spread", "lbf", "smac_mmm", "smac_2s3z", "smac_1c3s5z", "smac_11m"):
        assert name in str(err.value)


def test_unknown_env_lists_the_registered_envs(tiny_cfg):
    with pytest.raises(ValueError, match="Unknown env 'nope'.*lbf.*mpe_spread"):
        fit(tiny_cfg("env.name=nope"))
    with pytest.raises(ValueError, match="registered envs"):
        make("nope", 1, 0)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("env.num_envs=0", "env.num_envs must be an integer >= 1"),
        ("pretrain.frames=0", "pretrain.frames must be an integer >= 1"),
        ("ppo.rollout_steps=0", "ppo.rollout_steps must be an integer >= 1"),
        ("stages=[pretrian]", r"unknown: \[.pretrian.\]"),
    ],
)
def test_bad_sizes_fail_fast(tiny_cfg, override, message):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        fit(tiny_cfg(override))
    assert time.perf_counter() - start < 2.0  # before any env is built or step taken


def test_make_rejects_zero_envs():
    with pytest.raises(ValueError, match="num_envs must be >= 1"):
        make("mpe_spread", 0, 0)


def test_missing_checkpoint(tiny_cfg):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fit(tiny_cfg("ckpt_path=last"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fit(tiny_cfg("ckpt_path=/no/such/file.ckpt"))


def test_corrupt_checkpoint(tiny_cfg, tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="corrupt"):
        fit(tiny_cfg(f"ckpt_path={bad}"))


def test_existing_run_is_not_overwritten_without_ckpt_path(tiny_cfg):
    cfg = tiny_cfg()
    (ckpt_dir := __import__("pathlib").Path(cfg.run_dir) / "checkpoints").mkdir(parents=True)
    (ckpt_dir / "last.ckpt").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="ckpt_path=last"):
        fit(cfg)


@pytest.mark.parametrize("name", ["smac_2s3z", "smac_mmm", "smac_1c3s5z", "smac_11m"])
def test_smac_without_starcraft_says_how_to_install(tiny_cfg, name, monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "no_sc2_here"))
    start = time.perf_counter()
    with pytest.raises(SMACUnavailableError, match="(?s)pip install.*SC2PATH"):
        fit(tiny_cfg(f"experiment={name}"))
    assert time.perf_counter() - start < 5.0
