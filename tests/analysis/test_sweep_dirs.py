"""``python -m batpal.fit -m``: job folders named by the keys the sweep varies and the seed (not the overrides every
job shares), the same folders when the command runs again, and a failed job reported at the end with its overrides
and log, through Hydra's basic launcher (in process) and its joblib launcher (worker processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batpal.job_dirs import fixed_keys, job_dirname, swept_keys
from batpal.multirun import FAILED
from tests.conftest import TINY
from tests.zygote import zygote

# one pretrain iteration; shared by every job, so in no folder name
SHARED = ["experiment=mpe_spread", *TINY, "pretrain.frames=400", "pretrain.iters_per_epoch=1",
          "pretrain.eval_episodes=2"]


def test_swept_and_fixed_keys() -> None:
    task = ["experiment=mpe_spread", "seed=1,2", "game.K=range(2,4)", "+tiny=sweep", "pretrain.frames=400"]
    assert swept_keys(task) == {"seed", "game.K"}
    assert fixed_keys(task) == ["experiment", "pretrain.frames", "tiny"]
    assert swept_keys(["seed=1"], {"game.K": "3,4"}) == {"game.K"}  # hydra.sweeper.params sweep too
    assert fixed_keys(["seed=1"], {"game.K": "3,4"}) == ["seed"]


def test_names_show_the_seed_and_stay_one_folder() -> None:
    assert job_dirname("game.K=3", 0) == "game.K=3,seed=0"  # the seed shown though not swept
    assert job_dirname("game.K=3,seed=2", 0) == "game.K=3,seed=2"
    assert job_dirname("", 5) == "seed=5" and job_dirname("") == "default"
    assert job_dirname("defender=runs/a/b,seed=1", 1) == "defender=runs_a_b,seed=1"
    long = ",".join(f"x{i}.y={'v' * 20}" for i in range(20))
    name = job_dirname(long, 1)
    assert len(name.encode()) <= 255 and "/" not in name and job_dirname(long, 1) == name
    assert job_dirname(long, 2) != name  # the hash of the whole tells long names apart


def _sweep(tmp_path: Path, launcher: list[str], *extra: str):
    sweep = tmp_path / "sweep"
    argv = ["-m", *SHARED, "seed=1", "ppo.gamma=0.99,1.5", f"hydra.sweep.dir={sweep}", *launcher, *extra]
    return sweep, zygote().run("batpal.fit", argv, tmp_path / f"fit{len(extra)}.log", timeout=240)


@pytest.mark.slow  # tiny sweeps of two jobs, one of them failing: 40-90 s each on 2 loaded cores
@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]], ids=["basic", "jl"])
def test_sweep_folders_and_failed_jobs(tmp_path: Path, launcher: list[str]) -> None:
    sweep, run = _sweep(tmp_path, launcher)
    good, bad = sweep / "ppo.gamma=0.99,seed=1", sweep / "ppo.gamma=1.5,seed=1"
    assert {p.name for p in sweep.iterdir() if p.is_dir()} == {good.name, bad.name}  # only the swept key and the seed
    assert json.loads((good / "summary.json").read_text())["pretrain"]["frames"] == 400  # the other job went on
    assert run.returncode == 1
    report = run.stdout + run.stderr
    assert "1 job(s) of the sweep failed" in report and "ppo.gamma=1.5" in report
    assert f"log: {bad / 'fit.log'}" in report and "ppo.gamma" in (bad / "fit.log").read_text()
    record = json.loads((bad / FAILED).read_text())
    assert "ppo.gamma=1.5" in record["overrides"] and "ValueError" in record["error"]
    assert not (good / FAILED).exists()

    if launcher:
        return  # joblib's workers start slowly; resuming is the launcher's business, not the names'
    # the same command resumed: the same folders (the finished job skips its stage), the one failure again
    _, rerun = _sweep(tmp_path, launcher, "ckpt_path=last")
    assert {p.name for p in sweep.iterdir() if p.is_dir()} == {good.name, bad.name}
    assert rerun.returncode == 1 and "1 job(s) of the sweep failed" in rerun.stdout + rerun.stderr
