"""SMAC env: the TorchRL wrapper over a smacv2 stand-in, and the clear error when StarCraft II is missing."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from tensordict import TensorDict
from tensordict.nn import TensorDictModule
from torchrl.collectors import Collector
from torchrl.envs import ParallelEnv, SerialEnv
from torchrl.envs.utils import check_env_specs

import batpal.envs.smac as smac
from batpal.envs import make
from batpal.envs.registry import ENVS
from batpal.envs.smac import SMACUnavailableError, check_smac_available
from tests.envs.smac_standin import MAP_PARAMS, StandInStarCraft2Env

STOP = 1


def _make(num_envs: int = 2, map_name: str = "smac_2s3z", seed: int = 0, **kwargs):
    """Registry env over the stand-in, serial by default (no worker processes)."""
    kwargs.setdefault("parallel", False)
    return make(map_name, num_envs, seed=seed, env_factory=StandInStarCraft2Env, **kwargs)


def _games(env) -> list[StandInStarCraft2Env]:
    """The stand-in games behind a serial batched env (after its first reset)."""
    return [sub._env for sub in env.base_env._envs]


def _act(env, td: TensorDict, actions: torch.Tensor) -> TensorDict:
    td = td.clone()
    td.set(("agents", "action"), actions)
    return env.step(td)["next"]


def _attack(mask: torch.Tensor) -> torch.Tensor:
    """Highest-index available action: attacks when possible (focus fire), no-op when dead."""
    idx = torch.arange(mask.shape[-1])
    return torch.where(mask, idx, -1).argmax(-1)  # [B, N]


def _run_episode(env, policy) -> list[TensorDict]:
    td, steps = env.reset(), []
    while True:
        td = _act(env, td, policy(td["agents", "action_mask"]))
        steps.append(td)
        if td["done"].all():
            return steps


def test_check_env_specs_with_stand_in():
    check_env_specs(_make(2, "smac_mmm"))


def test_layout():
    env = _make(2, "smac_2s3z")
    td = env.reset()  # serial workers start on the first reset
    game = _games(env)[0]
    n, a, obs, state = game.n_agents, game.n_actions, game.get_obs_size(), game.get_state_size()
    assert env.batch_size == torch.Size([2])
    assert td["agents", "observation"].shape == (2, n, obs) and td["agents", "observation"].dtype == torch.float32
    assert td["agents", "action_mask"].shape == (2, n, a) and td["agents", "action_mask"].dtype == torch.bool
    assert td["state"].shape == (2, state) and td["state"].dtype == torch.float32
    action_spec = env.full_action_spec["agents", "action"]
    assert action_spec.shape == (2, n) and action_spec.space.n == a and action_spec.dtype == torch.int64
    assert env.full_action_spec["agents"].shape == (2, n)
    nxt = env.rand_step(td)["next"]
    assert nxt["reward"].shape == (2, 1) and nxt["reward"].dtype == torch.float32
    for key in ("done", "terminated", "truncated"):
        assert nxt[key].shape == (2, 1) and nxt[key].dtype == torch.bool
    assert nxt["info", "battle_won"].shape == (2,) and nxt["info", "battle_won"].dtype == torch.bool
    assert set(env.reward_keys) == {"reward"} and "episode_reward" in nxt.keys()


def test_win_flag_at_episode_end():
    steps = _run_episode(_make(2, "smac_2s3z"), _attack)
    last = steps[-1]
    assert last["info", "battle_won"].all() and last["terminated"].all() and not last["truncated"].any()
    assert all(not s["info", "battle_won"].any() for s in steps[:-1])
    assert (last["reward"] > steps[0]["reward"]).all()  # the win bonus
    torch.testing.assert_close(last["episode_reward"], sum(s["reward"] for s in steps))


@pytest.mark.parametrize("continuing_episode", [True, False])
def test_time_limit_is_truncation(continuing_episode):
    env = _make(2, episode_limit=5, enemy_damage=0.0, continuing_episode=continuing_episode)
    steps = _run_episode(env, lambda mask: torch.full(mask.shape[:-1], STOP))
    assert len(steps) == 5
    last = steps[-1]
    assert last["truncated"].all() and not last["terminated"].any() and last["done"].all()
    assert last["info", "episode_limit"].all() and not last["info", "battle_won"].any()


def test_defeat_is_termination_and_dead_agents_only_noop():
    env = _make(1, "smac_2s3z", enemy_damage=1.0)
    steps = _run_episode(env, lambda mask: torch.where(mask[..., STOP], STOP, 0))
    last = steps[-1]
    assert last["terminated"].all() and not last["truncated"].any() and not last["info", "battle_won"].any()
    assert last["info", "dead_allies"].item() == 5
    for td in steps:
        dead = td["agents", "observation"].abs().sum(-1) == 0  # [B, N]: smacv2 zeroes dead agents' obs
        mask = td["agents", "action_mask"]
        assert torch.equal(mask[..., 0], dead) and (mask[dead].sum(-1) == 1).all()


def test_masks_match_stand_in_and_invalid_action_raises():
    env = _make(2, "smac_2s3z")
    td = env.reset()
    for _ in range(4):
        for i, game in enumerate(_games(env)):
            assert td["agents", "action_mask"][i].tolist() == [[bool(x) for x in r] for r in game.get_avail_actions()]
        td = env.rand_step(td)["next"].clone()  # random actions respect the mask (ActionMask transform)
    with pytest.raises(RuntimeError, match="out-of-bounds action"):
        _act(env, td, torch.zeros(2, 5, dtype=torch.int64))  # no-op is not available to living units


def test_partial_reset_leaves_other_env_unchanged():
    env = _make(2, "smac_2s3z")
    td = env.reset()
    for _ in range(2):
        td = env.rand_step(td)["next"].clone()
    before = td.clone()
    td.set("_reset", torch.tensor([[True], [False]]))
    out = env.reset(td)
    assert _games(env)[1]._episode_steps == 2 and _games(env)[0]._episode_steps == 0
    torch.testing.assert_close(out["agents", "observation"][1], before["agents", "observation"][1])
    torch.testing.assert_close(out["state"][1], before["state"][1])


def test_collector_resets_finished_envs_only():
    def masked_random(mask: torch.Tensor) -> torch.Tensor:  # [B, N, A] -> [B, N]
        return torch.multinomial(mask.flatten(0, -2).float(), 1).view(mask.shape[:-1])

    torch.manual_seed(0)
    env = _make(2, "smac_2s3z", episode_limit=6, ally_damage=1.0)
    policy = TensorDictModule(masked_random, in_keys=[("agents", "action_mask")], out_keys=[("agents", "action")])
    collector = Collector(env, policy, frames_per_batch=2 * 30, total_frames=2 * 30)
    batch = next(iter(collector))
    collector.shutdown()
    for row in batch.unbind(0):
        ends = torch.nonzero(row["next", "done"].squeeze(-1)).flatten().tolist()
        lengths = torch.diff(torch.tensor([-1, *ends])).tolist()
        assert ends and max(lengths) <= 6
        for end, length in zip(ends, lengths, strict=True):
            assert row["next", "truncated"][end].item() == (length == 6 and not row["next", "info", "battle_won"][end])
            assert row["next", "terminated"][end].item() != row["next", "truncated"][end].item()
            torch.testing.assert_close(
                row["next", "episode_reward"][end], row["next", "reward"][end - length + 1 : end + 1].sum(0)
            )
    open_trajs = int((~batch["next", "done"][:, -1]).sum())  # rows whose last episode is still running
    assert len(set(batch["collector", "traj_ids"].flatten().tolist())) == int(batch["next", "done"].sum()) + open_trajs


@pytest.mark.slow  # end to end
def test_parallel_is_default_for_several_envs():
    env = make("smac_2s3z", 2, seed=0, env_factory=StandInStarCraft2Env, episode_limit=4)
    try:
        assert isinstance(env.base_env, ParallelEnv)
        rollout = env.rollout(6, break_when_any_done=False)
        assert rollout.shape == (2, 6) and rollout["next", "truncated"][:, 3].all()
    finally:
        env.close()
    assert isinstance(_make(1, parallel=None).base_env, SerialEnv)


def test_missing_starcraft_raises_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path))  # an empty folder: no game, no maps

    def no_compute(*args, **kwargs):
        raise AssertionError("the availability check must run before building anything")

    monkeypatch.setattr(smac, "_make_one", no_compute)
    with pytest.raises(SMACUnavailableError, match="pip install") as err:
        make("smac_mmm", 1, seed=0)
    assert "SC2PATH" in str(err.value) and "SMAC_Maps" in str(err.value) and "MMM.SC2Map" in str(err.value)
    assert isinstance(err.value, ImportError)


def test_missing_map_is_named_and_full_install_passes(monkeypatch, tmp_path):
    (tmp_path / "Versions").mkdir()
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args):  # pretend smacv2 is installed
        return object() if name == "smacv2" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(SMACUnavailableError, match=r"10m_vs_11m\.SC2Map") as err:
        check_smac_available("10m_vs_11m")
    assert "not installed" not in str(err.value) and "StarCraft II was not found" not in str(err.value)
    (tmp_path / "Maps" / "SMAC_Maps").mkdir(parents=True)
    (tmp_path / "Maps" / "SMAC_Maps" / "10m_vs_11m.SC2Map").touch()
    check_smac_available("10m_vs_11m")


# ---- the authors' settings, seeding, smacv2's crash result ----

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "env"
# registry name -> (map, the authors' episode limit); smac_11m plays 10m_vs_11m (the authors' 11m is unpublished)
AUTHORS_LIMITS = {
    "smac_2s3z": ("2s3z", 120),
    "smac_mmm": ("MMM", 150),
    "smac_1c3s5z": ("1c3s5z", 180),
    "smac_11m": ("10m_vs_11m", 150),
}


@pytest.mark.parametrize("name", sorted(AUTHORS_LIMITS))
def test_env_configs_hold_the_authors_settings(name):
    cfg = OmegaConf.load(CONFIGS / f"{name}.yaml")
    map_name, limit = AUTHORS_LIMITS[name]
    assert cfg.name == name and cfg.max_episode_steps == limit
    assert OmegaConf.to_container(cfg.kwargs) == {"state_last_action": False}
    assert dict(ENVS[name].kwargs)["map_name"] == map_name
    assert MAP_PARAMS[map_name][2] == limit  # the map's own limit (smacv2's registry) agrees with the config
    if name == "smac_11m":
        header = (CONFIGS / f"{name}.yaml").read_text()
        assert "10m_vs_11m" in header and "NOT the paper's 11m" in header


def test_config_kwargs_reach_the_game_and_drop_last_actions_from_state():
    env = _make(1, "smac_mmm", state_last_action=False)
    td = env.reset()
    game = _games(env)[0]
    assert game.state_last_action is False
    assert td["state"].shape[-1] == game.get_state_size() == 4 * 10 + 3 * 10


def _rollout_obs(env, steps: int = 6) -> torch.Tensor:
    torch.manual_seed(0)
    return env.rollout(steps, break_when_any_done=False)["next", "agents", "observation"]


def test_each_env_seeds_python_and_numpy_global_generators():
    random.seed(123)
    np.random.seed(123)
    _make(1, "smac_2s3z", seed=4).reset()  # its one instance (seed 4) is built by now; the stand-in draws nothing
    drawn = (random.random(), float(np.random.rand()))
    random.seed(4)
    np.random.seed(4)
    assert drawn == (random.random(), float(np.random.rand()))
    smac.seed_global_rngs(5)
    other = (random.random(), float(np.random.rand()))
    assert other != drawn


def test_same_seed_same_rollout_with_stand_in():
    first, second = _rollout_obs(_make(2, "smac_2s3z")), _rollout_obs(_make(2, "smac_2s3z"))
    torch.testing.assert_close(first, second)
    assert not torch.equal(_rollout_obs(_make(2, "smac_2s3z", seed=7)), first)


def test_crash_result_is_a_truncated_end_without_a_win():
    env = _make(2, "smac_2s3z", crash_at_step=3, enemy_damage=0.0)
    steps = _run_episode(env, lambda mask: torch.full(mask.shape[:-1], STOP))
    assert len(steps) == 3
    last = steps[-1]
    assert last["done"].all() and last["truncated"].all() and not last["terminated"].any()
    assert not last["info", "battle_won"].any() and (last["reward"] == 0).all()
    assert all(game.restarts == 1 for game in _games(env))
    nxt = env.reset()  # the game goes on after the restart
    assert nxt["agents", "observation"].abs().sum() > 0


def test_crash_in_one_env_leaves_the_other_running():
    env = make("smac_2s3z", 2, seed=0, env_factory=StandInStarCraft2Env, parallel=False, enemy_damage=0.0)
    td = env.reset()
    _games(env)[0].crash_at_step = 2
    for _ in range(2):
        td = _act(env, td, torch.full((2, 5), STOP))
    assert td["truncated"].squeeze(-1).tolist() == [True, False] and not td["terminated"].any()


def test_unknown_map_is_named_before_any_game_starts(monkeypatch, tmp_path):
    (tmp_path / "Versions").mkdir()
    (tmp_path / "Maps" / "SMAC_Maps").mkdir(parents=True)
    (tmp_path / "Maps" / "SMAC_Maps" / "11m.SC2Map").touch()
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "smacv2" else real_find_spec(name, *a)
    )
    monkeypatch.setattr(smac, "_smacv2_map_names", lambda: {"2s3z", "MMM", "1c3s5z", "10m_vs_11m"})
    with pytest.raises(SMACUnavailableError, match=r"smacv2 does not know the map '11m'.*10m_vs_11m"):
        check_smac_available("11m")
