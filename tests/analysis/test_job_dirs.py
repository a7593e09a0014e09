"""The multirun job folder name: the job's overrides, always one valid folder name."""

from __future__ import annotations

from omegaconf import OmegaConf

from batpal.job_dirs import MAX_BYTES, job_dirname, register_job_dir_resolver


def test_short_names_are_the_overrides() -> None:
    assert job_dirname("experiment=mpe_spread,game.K=3,seed=1") == "experiment=mpe_spread,game.K=3,seed=1"
    assert job_dirname("ckpt=runs/a/b") == "ckpt=runs_a_b"  # no nested folders
    assert job_dirname("") == "default"


def test_long_names_are_cut_and_hashed() -> None:
    common = ",".join(f"stage{i}.frames={i * 1000}" for i in range(20))
    a, b = job_dirname(common + ",seed=1"), job_dirname(common + ",seed=2")
    assert len(a.encode()) <= MAX_BYTES and len(b.encode()) <= MAX_BYTES
    assert a != b and a[:100] == b[:100]  # same readable start, told apart by the hash of the whole
    assert job_dirname(common + ",seed=1") == a  # a pure function: the same overrides, the same folder


def test_resolver_in_a_config() -> None:
    register_job_dir_resolver()
    register_job_dir_resolver()  # twice is fine
    cfg = OmegaConf.create({"name": "model.hidden=[32,32],seed=1", "subdir": "${batpal.job_dir:${name}}"})
    assert cfg.subdir == "model.hidden=[32,32],seed=1"
