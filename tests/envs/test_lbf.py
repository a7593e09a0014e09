"""LBF env: specs, layout, team reward vs the raw lbforaging game, time limit, masks, partial resets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lbforaging.foraging.environment import Action, ForagingEnv
from tensordict import TensorDict
from torchrl.collectors import Collector
from torchrl.envs.utils import RandomPolicy, check_env_specs

from batpal.envs import make
from batpal.envs.lbf import LBF_DEFAULTS, LBFEnv, make_lbf

CPU = torch.device("cpu")


def _step(env: LBFEnv, actions: torch.Tensor) -> TensorDict:
    """One step of the base env with agents' actions ``[B, N]``; returns the ``next`` tensordict."""
    td = TensorDict({"agents": TensorDict({"action": actions}, batch_size=actions.shape)}, batch_size=actions.shape[:1])
    return env.step(td)["next"]


def _load_first(mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Pick LOAD where valid, else a random valid action: a policy that actually collects food."""
    random_valid = torch.multinomial(mask.flatten(0, -2).float(), 1, generator=gen).view(mask.shape[:-1])  # [B, N]
    return torch.where(mask[..., Action.LOAD.value], Action.LOAD.value, random_valid)


def test_check_env_specs_through_registry():
    check_env_specs(make("lbf_lbforaging", 2, seed=0))


def test_layout_and_shapes():
    env = make("lbf_lbforaging", 2, seed=0)
    assert env.batch_size == torch.Size([2])
    td = env.reset()
    assert td["agents", "observation"].shape == (2, 5, 45) and td["agents", "observation"].dtype == torch.float32
    assert td["agents", "action_mask"].shape == (2, 5, 6) and td["agents", "action_mask"].dtype == torch.bool
    assert td["state"].shape == (2, 5 * 45)
    torch.testing.assert_close(td["state"], td["agents", "observation"].reshape(2, -1))
    action_spec = env.full_action_spec["agents", "action"]
    assert action_spec.shape == (2, 5) and action_spec.space.n == 6 and action_spec.dtype == torch.int64
    assert env.full_action_spec["agents"].shape == (2, 5)
    nxt = env.rand_step(td)["next"]
    assert nxt["reward"].shape == (2, 1) and nxt["reward"].dtype == torch.float32
    for key in ("done", "terminated", "truncated"):
        assert nxt[key].shape == (2, 1) and nxt[key].dtype == torch.bool


@pytest.mark.parametrize("kwargs", [{}, {"force_coop": False}])
def test_team_reward_is_sum_of_raw_rewards(kwargs):
    seed, num_envs = 3, 2
    env = make_lbf(num_envs, seed, CPU, **kwargs)
    raws = [ForagingEnv(**{**LBF_DEFAULTS, **kwargs}) for _ in range(num_envs)]
    td = env.reset()
    for i, raw in enumerate(raws):
        raw_obs, _ = raw.reset(seed=seed + i)
        np.testing.assert_array_equal(td["agents", "observation"][i].numpy(), np.stack(raw_obs))
    gen, total = torch.Generator().manual_seed(0), 0.0
    for _ in range(LBF_DEFAULTS["max_episode_steps"]):
        actions = _load_first(td["agents", "action_mask"], gen)  # [B, N]
        td = _step(env, actions)
        for i, raw in enumerate(raws):
            raw_obs, rewards, _, _, _ = raw.step(actions[i].tolist())
            assert td["reward"][i, 0].item() == pytest.approx(sum(rewards), abs=1e-6)
            np.testing.assert_array_equal(td["agents", "observation"][i].numpy(), np.stack(raw_obs))
        total += td["reward"].sum().item()
        if td["done"].any():
            break
    if not kwargs.get("force_coop", True):
        assert total > 0, "the load-first policy should collect food when cooperation is not forced"


def test_truncation_at_50_steps_and_termination_when_food_is_gone():
    env = make_lbf(1, 0, CPU)
    env.reset()
    noop = torch.zeros(1, 5, dtype=torch.int64)
    for t in range(1, 51):
        nxt = _step(env, noop)
        assert nxt["truncated"].item() == (t == 50) and nxt["done"].item() == (t == 50)
        assert not nxt["terminated"].item()
    env.reset()
    env.envs[0].field[:] = 0  # all food eaten: a real terminal state, not a time-out
    nxt = _step(env, noop)
    assert nxt["terminated"].item() and nxt["done"].item() and not nxt["truncated"].item()


def test_masks_match_lbforaging_valid_actions():
    env = make_lbf(3, 1, CPU)
    td = env.reset()
    gen = torch.Generator().manual_seed(1)
    for _ in range(20):
        mask = td["agents", "action_mask"]  # [B, N, A]
        for i, game in enumerate(env.envs):
            expected = [[game._is_valid_action(p, Action(a)) for a in range(6)] for p in game.players]
            assert mask[i].tolist() == expected
            per_player = [{int(t[p].value) for t in game.get_valid_actions()} for p in range(5)]
            assert [set(torch.nonzero(row).flatten().tolist()) for row in mask[i]] == per_player
        assert mask[..., Action.NONE.value].all()
        td = _step(env, _load_first(mask, gen))


def test_partial_reset_leaves_other_env_unchanged():
    env = make_lbf(2, 0, CPU)
    td = env.reset()
    for _ in range(5):
        td = env.rand_step(td)["next"].clone()
    before = td.clone()
    td.set("_reset", torch.tensor([[True], [False]]))
    out = env.reset(td)
    assert env.envs[0].current_step == 0 and env.envs[1].current_step == 5
    torch.testing.assert_close(out["agents", "observation"][1], before["agents", "observation"][1])
    torch.testing.assert_close(out["state"][1], before["state"][1])
    assert not torch.equal(out["agents", "observation"][0], before["agents", "observation"][0])


def test_collector_resets_envs_at_the_time_limit():
    env = make("lbf_lbforaging", 2, seed=0)
    collector = Collector(env, RandomPolicy(env.full_action_spec), frames_per_batch=2 * 100, total_frames=2 * 100)
    batch = next(iter(collector))
    collector.shutdown()
    assert batch.shape == (2, 100)
    assert batch["next", "truncated"][:, 49].all() and batch["next", "truncated"][:, 99].all()
    assert batch["next", "done"].sum() == 4
    torch.testing.assert_close(batch["next", "episode_reward"][:, 49], batch["next", "reward"][:, :50].sum(1))


def test_seeding_is_reproducible_and_state_checkpoint_round_trips():
    def rollout(env: LBFEnv) -> TensorDict:
        torch.manual_seed(0)
        return env.rollout(30, break_when_any_done=False)

    a, b, c = rollout(make_lbf(2, 7, CPU)), rollout(make_lbf(2, 7, CPU)), rollout(make_lbf(2, 8, CPU))
    assert torch.equal(a["next", "agents", "observation"], b["next", "agents", "observation"])
    assert not torch.equal(a["agents", "observation"][:, 0], c["agents", "observation"][:, 0])

    env = make_lbf(2, 7, CPU)
    td = env.reset()
    for _ in range(10):
        td = env.rand_step(td)["next"].clone()
    snapshot = env.env_state()
    gen = torch.Generator().manual_seed(5)
    actions = [torch.randint(0, 6, (2, 5), generator=gen) for _ in range(40)]  # up to the time limit
    first = [_step(env, act) for act in actions]
    first_reset = env.reset()["agents", "observation"]
    resumed = make_lbf(2, 0, CPU)  # a fresh env (other seed) resumes from the snapshot
    resumed.load_env_state(snapshot)
    second = [_step(resumed, act) for act in actions]
    for x, y in zip(first, second, strict=True):
        assert torch.equal(x["agents", "observation"], y["agents", "observation"])
        assert torch.equal(x["reward"], y["reward"]) and torch.equal(x["done"], y["done"])
    assert second[-1]["truncated"].all()
    # the game RNG was restored too, so the next episode starts identically
    assert torch.equal(first_reset, resumed.reset()["agents", "observation"])
