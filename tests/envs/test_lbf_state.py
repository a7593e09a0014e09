"""LBF (lbforaging) snapshots are plain data: they go through ``torch.save`` / ``torch.load(weights_only=True)`` and
restore every game exactly (field, players, step, numpy RNG), alone and inside a resumed ``fit``."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from batpal.envs.lbf import make_lbf
from batpal.fit import fit
from batpal.safe_load import check_plain
from tests.envs.test_lbf import CPU, _step


def test_a_snapshot_is_plain_and_restores_exactly_after_a_weights_only_round_trip(tmp_path):
    env = make_lbf(3, 11, CPU)
    td = env.reset()
    for _ in range(12):
        td = env.rand_step(td)["next"].clone()
    snapshot = env.env_state()
    check_plain(snapshot, "LBF snapshot")
    rng = [game.np_random.bit_generator.state for game in env.envs]  # numpy's own view, before any step
    fields = [game.field.copy() for game in env.envs]
    torch.save(snapshot, tmp_path / "lbf.pt")
    loaded = torch.load(tmp_path / "lbf.pt", weights_only=True)

    gen = torch.Generator().manual_seed(3)
    actions = [torch.randint(0, 6, (3, 5), generator=gen) for _ in range(45)]  # past the 50-step time limit
    first = [_step(env, act) for act in actions]
    first_reset = env.reset()["agents", "observation"]
    resumed = make_lbf(3, 0, CPU)
    resumed.load_env_state(loaded)
    for game, state, field in zip(resumed.envs, rng, fields, strict=True):
        assert game.np_random.bit_generator.state == state
        assert game.field.dtype == field.dtype and (game.field == field).all()
    second = [_step(resumed, act) for act in actions]
    for x, y in zip(first, second, strict=True):
        assert torch.equal(x["agents", "observation"], y["agents", "observation"])
        assert torch.equal(x["agents", "action_mask"], y["agents", "action_mask"])
        assert torch.equal(x["reward"], y["reward"]) and torch.equal(x["done"], y["done"])
    assert torch.equal(first_reset, resumed.reset()["agents", "observation"])  # the numpy RNG was restored too


def test_a_pretrain_on_lbforaging_resumes_exactly(tiny_cfg):
    """The numpy-RNG env through a real checkpoint (loaded with weights_only): stopped + resumed == straight."""
    lbf = (
        "env=lbf_lbforaging",
        "env.num_envs=4",
        "pretrain.frames=400",
        "pretrain.iters_per_epoch=1",
        "pretrain.eval_episodes=4",
    )
    straight = tiny_cfg(*lbf, name="straight")
    fit(straight)
    fit(tiny_cfg(*lbf, "pretrain.frames=100", name="stopped"))  # one iteration: 25 of 50 steps, mid-episode
    state = torch.load(Path(straight.run_dir).parent / "stopped" / "checkpoints" / "last.ckpt", weights_only=True)
    assert isinstance(state["rollout_state"]["sim"], dict)  # plain data, no pickled bytes
    resumed = fit(tiny_cfg(*lbf, "ckpt_path=last", name="stopped"))

    a = torch.load(Path(straight.run_dir) / "pi0.pt", weights_only=True)["state_dict"]
    b = torch.load(Path(straight.run_dir).parent / "stopped" / "pi0.pt", weights_only=True)["state_dict"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    first = json.loads((Path(straight.run_dir) / "summary.json").read_text())["pretrain"]
    for key in ("frames", "return_mean", "vmax"):
        assert first[key] == resumed["pretrain"][key], key
