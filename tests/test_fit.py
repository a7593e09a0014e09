"""End-to-end ``fit`` on a tiny MPE-Spread run: the run directory, the summary, and exact resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from batpal.artifacts import load_reference_policy
from batpal.fit import fit

REPO = Path(__file__).resolve().parents[1]


def _actor_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    actor, _ = load_reference_policy(run_dir / "pi0.pt")
    return {k: v.clone() for k, v in actor.state_dict().items()}


def test_fit_writes_the_run_directory(tiny_cfg):
    cfg = tiny_cfg()
    summary = fit(cfg)
    run_dir = Path(cfg.run_dir)
    pre = summary["pretrain"]
    assert pre["frames"] == 1600
    assert pre["eval_episodes"] == 8
    assert -400.0 < pre["return_mean"] < 0.0  # MPE team returns are negative
    assert abs(pre["return_normalized"] - (pre["return_mean"] + 189.0) / 142.0) < 1e-9
    assert pre["vmax"] > pre["return_mean"]  # discounting shrinks negative returns towards 0
    assert pre["vmax_ci95"][0] <= pre["vmax"] <= pre["vmax_ci95"][1]
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    assert (run_dir / "config.yaml").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / "metrics" / "pretrain" / "metrics.csv").read_text().count("\n") > 2
    assert any((run_dir / "tensorboard").iterdir())
    assert _actor_weights(run_dir)


def test_resume_after_a_stop_reproduces_the_uninterrupted_run(tiny_cfg):
    straight = tiny_cfg(name="straight")
    fit(straight)

    # The same run stopped after its first epoch (2 of 4 iterations), then resumed from last.ckpt.
    fit(tiny_cfg("pretrain.frames=800", name="stopped"))
    resumed = fit(tiny_cfg("ckpt_path=last", name="stopped"))

    a, b = _actor_weights(Path(straight.run_dir)), _actor_weights(Path(straight.run_dir).parent / "stopped")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    first = json.loads((Path(straight.run_dir) / "summary.json").read_text())["pretrain"]
    for key in ("frames", "return_mean", "vmax"):
        assert first[key] == resumed["pretrain"][key], key


@pytest.mark.slow  # end to end, over 30 s
def test_ddp_on_two_cpu_processes_trains_checkpoints_and_resumes(tmp_path):
    """Lightning DDP (gloo) through the real CLI: 2 ranks train, checkpoint, and resume with ckpt_path=last."""
    run_dir = tmp_path / "ddp"
    base = [
        sys.executable,
        "-m",
        "batpal.fit",
        "experiment=mpe_spread",
        "trainer=ddp_cpu",
        "env.num_envs=8",
        "ppo.rollout_steps=25",
        "ppo.ppo_epochs=1",
        "model.hidden=[16,16]",
        "pretrain.iters_per_epoch=1",
        "pretrain.eval_episodes=4",
        "trainer.enable_progress_bar=false",
        "stages=[pretrain]",
        f"hydra.run.dir={run_dir}",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    first = subprocess.run(
        [*base, "pretrain.frames=400"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads((run_dir / "summary.json").read_text())["pretrain"]["frames"] == 400  # 2 ranks x 8 x 25
    second = subprocess.run(
        [*base, "pretrain.frames=800", "ckpt_path=last"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert json.loads((run_dir / "summary.json").read_text())["pretrain"]["frames"] == 800
