"""pretrain -> calibrate -> adversarial end to end on a tiny MPE-Spread run: summary, artefacts, exact resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from batpal.fit import fit
from tests.conftest import GAME, TINY
from tests.tiny_run import tiny_game_run, tiny_game_summary

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # end to end
def test_pipeline_writes_every_stage(tmp_path_factory):
    run_dir = tiny_game_run(tmp_path_factory)  # fit(experiment=mpe_spread, TINY, GAME), once per session
    cfg, summary = OmegaConf.load(run_dir / "config.yaml"), tiny_game_summary(tmp_path_factory)
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    assert set(summary) == {"pretrain", "calibrate", "adversarial"}
    cal = summary["calibrate"]
    assert cal["frames"] == 800 and cal["vmin"] == -400.0 and cal["source"] == "partly config"
    assert cal["vmax_ci95"][0] <= cal["vmax"] <= cal["vmax_ci95"][1]
    # every candidate's value per victim, and the harshest one's index (evaluated afresh for vmin_ci95)
    values, harshest = cal["candidate_values"], cal["harshest_candidate"]
    assert len(values) == 3 and all(len(row) == cfg.calibrate.candidates == 4 for row in values)
    assert harshest == [1 + row.index(min(row)) for row in values]
    assert len(cal["vmin_ci95"]) == 3
    adv = summary["adversarial"]
    assert adv["frames"] == 1600 and adv["K"] == 4
    figures = {"return_mean", "return_se", "episodes", "return_normalized", "return_normalized_se"}
    assert set(adv["no_attack"]) == figures and adv["no_attack"]["episodes"] == 4
    assert adv["no_attack"]["return_normalized_se"] == pytest.approx(adv["no_attack"]["return_se"] / (-47.0 + 189.0))
    for k in range(1, 5):
        psi = adv[f"psi_{k}"]
        assert psi["band"] == [(k - 1) / 4, k / 4]
        assert psi["in_band"] == ((k - 1) / 4 < psi["severity"] <= k / 4)
        assert len(psi["severity_per_victim"]) == 3
        assert set(psi["defender"]) == set(psi["pi0"]) == figures
        assert psi["defender"]["episodes"] == 3 * 4 and psi["defender"]["return_se"] > 0  # every victim's episodes
    # band k of victim v on [Vmin, Vmax] (eq. 3): k = 1 is the mildest, next to Vmax
    vmax, bands = cal["vmax"], adv["bands"]
    assert bands[0][0] == pytest.approx([vmax - (vmax + 400) / 4, vmax])
    assert bands[2][3] == pytest.approx([-400.0, vmax - 3 * (vmax + 400) / 4])
    for name in ("pi0.pt", "calibration_adversary.pt", "defender.pt", "summary.json", "config.yaml"):
        assert (run_dir / name).is_file(), name
    for stage in ("pretrain", "calibrate", "adversarial"):
        assert (run_dir / "metrics" / stage / "metrics.csv").is_file()
    metrics = (run_dir / "metrics" / "adversarial" / "metrics.csv").read_text().splitlines()[0]
    for column in (
        "train/loss_omega",
        *(f"train/loss_adversary_{k}" for k in range(1, 5)),  # game.adversary_updates=all: every psi_k steps
        "train/loss_belief",
        "train/belief_accuracy",
        "train/loss_critic_1",
        "train/loss_critic_0",
        "train/updated_k",
    ):
        assert column in metrics, column


def _cli(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "batpal.fit",
        "experiment=mpe_spread",
        *TINY,
        *GAME,
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ("game.K=0", ValueError, "game.K must be an integer >= 1"),
        ("game.barrier_lambda=0", ValueError, "barrier_lambda must be > 0"),
        ("game.vmax=-100", None, None),  # alone: fine (vmin calibrated)
    ],
)
def test_bad_game_settings_fail_before_compute(tiny_cfg, override, error, message):
    if error is None:
        from batpal.config import validate

        validate(tiny_cfg(*GAME, override))
        return
    with pytest.raises(error, match=message):
        fit(tiny_cfg(*GAME, override))


def test_vmax_not_above_vmin_and_slow_adversary(tiny_cfg):
    with pytest.raises(ValueError, match="vmax must exceed game.vmin"):
        fit(tiny_cfg(*GAME, "game.vmax=-500"))
    with pytest.raises(ValueError, match=r"vmin\[1\]"):
        fit(tiny_cfg(*GAME, "game.vmax=-50", "game.vmin=[-100,-40,-100]"))
    from batpal.config import validate

    with pytest.warns(UserWarning, match="two-timescale"):
        validate(tiny_cfg(*GAME, "game.adversary_lr=1e-4", "adversarial.ppo.actor_lr=5e-4"))


def _assert_replicas_identical(run_dir: Path, stages: tuple[str, ...]) -> None:
    for stage in stages:
        rank0 = torch.load(run_dir / "replicas" / f"{stage}-rank0.pt", weights_only=True)
        rank1 = torch.load(run_dir / "replicas" / f"{stage}-rank1.pt", weights_only=True)
        assert rank0.keys() == rank1.keys() and rank0, stage
        for key in rank0:
            torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=f"{stage}: {key}")


@pytest.mark.slow  # end to end, over 30 s
def test_ddp_pipeline_keeps_ranks_identical_and_resumes(tmp_path):
    """2 CPU processes (gloo) through the real CLI: pi0 trains, checkpoints and resumes with a raised budget
    (ckpt_path=last), then every stage trains, every rank steps the same psi_k (all of them by default, even one
    without data on that rank), the replicas are identical after every stage and after a resume."""
    run_dir = tmp_path / "ddp"
    ddp = [
        "trainer=ddp_cpu",
        "env.num_envs=8",
        "pretrain.iters_per_epoch=1",
        "calibrate.frames=400",
        "adversarial.iters_per_epoch=1",
    ]
    first = _cli(run_dir, *ddp, "stages=[pretrain]", "pretrain.frames=400")
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads((run_dir / "summary.json").read_text())["pretrain"]["frames"] == 400  # 2 ranks x 8 x 25
    _assert_replicas_identical(run_dir, ("pretrain",))
    # resumes pretrain to its raised budget, then trains the game stages
    second = _cli(run_dir, *ddp, "pretrain.frames=800", "adversarial.frames=800", "ckpt_path=last")
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["pretrain"]["frames"] == 800
    assert summary["adversarial"]["frames"] == 800  # 2 ranks x 8 envs x 25 steps x 2 iterations
    _assert_replicas_identical(run_dir, ("pretrain", "calibrate", "adversarial"))
    for replica in (run_dir / "replicas").iterdir():
        replica.unlink()
    again = _cli(run_dir, *ddp, "pretrain.frames=800", "adversarial.frames=1600", "ckpt_path=last")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((run_dir / "summary.json").read_text())["adversarial"]["frames"] == 1600
    _assert_replicas_identical(run_dir, ("adversarial",))  # the resumed stage


def test_defender_warm_starts_as_the_reference_policy():
    """With the belief input's columns zero, pi_omega's logits equal pi0's whatever the belief."""
    from batpal.nn.actor import AgentActorNet
    from batpal.nn.warm_start import warm_start_from_reference

    torch.manual_seed(0)
    pi0, omega = AgentActorNet(18, 3, 5, (16, 16)), AgentActorNet(18 + 13, 3, 5, (16, 16))
    warm_start_from_reference(omega, pi0, obs_dim=18, belief_dim=13)
    obs, belief = torch.randn(7, 3, 18), torch.rand(7, 3, 13)
    torch.testing.assert_close(omega(obs, belief), pi0(obs))
    with pytest.warns(UserWarning, match="from scratch"):
        warm_start_from_reference(AgentActorNet(31, 3, 5, (8,)), pi0, obs_dim=18, belief_dim=13)
