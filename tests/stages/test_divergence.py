"""A diverged run stops: lr 10 in any stage raises within 20 iterations naming the stage, the summary claims nothing
for that stage, and the last good checkpoint stays on disk and loads."""

from __future__ import annotations

import json

import pytest
import torch

from batpal.attack import train_attack
from batpal.fit import fit
from batpal.objectives.guards import DivergenceError
from tests.conftest import GAME, TINY, compose_config
from tests.stages.conftest import attack_config
from tests.zygote import zygote

pytestmark = pytest.mark.slow  # end-to-end runs (pipelines, CLI processes)

LONG = 20 * 400  # 20 iterations of 16 envs x 25 steps
CASES = {
    "pretrain": [
        "stages=[pretrain]",
        f"pretrain.frames={LONG}",
        "pretrain.iters_per_epoch=2",
        "ppo.actor_lr=10",
        "ppo.critic_lr=10",
    ],
    "calibrate": [
        *GAME,
        "stages=[pretrain,calibrate]",
        "game.vmin=null",
        f"calibrate.frames={LONG}",
        "calibrate.iters_per_epoch=2",
        "calibrate.ppo.actor_lr=10",
        "calibrate.ppo.critic_lr=10",
    ],
    "adversarial": [
        *GAME,
        "game.vmax=-40",
        f"adversarial.frames={LONG}",
        "adversarial.ppo.actor_lr=10",
        "adversarial.ppo.critic_lr=10",
        "game.adversary_lr=10",
        "game.belief_lr=10",
    ],
}


def _iteration(err: DivergenceError) -> int:
    return int(str(err).split("iteration ")[1].split(" ")[0])


@pytest.mark.parametrize("stage", list(CASES))
def test_lr_10_stops_the_stage_within_20_iterations(tmp_path, stage):
    cfg = compose_config(["experiment=mpe_spread", *TINY, *CASES[stage]], tmp_path / "run")
    with pytest.raises(DivergenceError, match=f"stage {stage} diverged at iteration") as err:
        fit(cfg)
    assert _iteration(err.value) <= 20
    summary = json.loads((tmp_path / "run" / "summary.json").read_text()) if stage != "pretrain" else {}
    assert stage not in summary  # no result claimed for the stage that diverged
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    if last.exists():  # the last good one: an earlier stage's or an epoch before the divergence, all finite
        state = torch.load(last, map_location="cpu", weights_only=True)
        assert all(torch.isfinite(t).all() for t in state["state_dict"].values() if t.is_floating_point())
        if state["rollout_state"]["stage"] == stage:
            assert state["rollout_state"]["frames"] < _iteration(err.value) * 400


def test_lr_10_in_the_attack_stage_stops_it(defender_runs, tmp_path):
    cfg = attack_config(
        "act",
        defender_runs["game"],
        tmp_path / "attack",
        f"attack.frames={LONG}",
        "attack.ppo.actor_lr=10",
        "attack.ppo.critic_lr=10",
    )
    with pytest.raises(DivergenceError, match="stage attack diverged at iteration") as err:
        train_attack(cfg)
    assert _iteration(err.value) <= 20
    assert not (tmp_path / "attack" / "attack.pt").exists()


def test_a_diverged_run_exits_non_zero_from_the_command_line(tmp_path):
    """``python -m batpal.fit``, in a child of the session's zygote (``tests/zygote.py``)."""
    args = ["experiment=mpe_spread", *TINY, *CASES["pretrain"], f"hydra.run.dir={tmp_path / 'run'}"]
    done = zygote().run("batpal.fit", args, tmp_path / "fit.log", timeout=300)
    assert done.returncode != 0
    assert "stage pretrain diverged" in done.stderr
    assert not (tmp_path / "run" / "summary.json").exists() and not (tmp_path / "run" / "pi0.pt").exists()
