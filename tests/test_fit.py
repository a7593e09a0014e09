"""End-to-end ``fit`` on a tiny MPE-Spread run: the run directory, the summary, and exact resume (under DDP:
``tests/stages/test_pipeline.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from batpal.artifacts import load_reference_policy
from batpal.fit import fit


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
