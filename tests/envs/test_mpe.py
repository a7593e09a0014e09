"""The batched simple_spread port against mpe2 itself, plus reset, state round trip and layout checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.collectors import Collector
from torchrl.envs.utils import check_env_specs

from batpal.envs import make
from batpal.envs.mpe import MPESpreadEnv

pytestmark = pytest.mark.filterwarnings("ignore")

N = 3
SEEDS = list(range(20))
# Extra starts with agents overlapping (0 and 1, then all three) so contact forces and penalties are hit hard.
CRAFTED = [
    ([[0.0, 0.0], [0.1, 0.05], [0.9, -0.8]], [[0.5, 0.5], [-0.5, 0.2], [0.0, -0.9]]),
    ([[0.2, 0.2], [0.25, 0.1], [0.1, 0.3]], [[-0.7, 0.7], [0.6, -0.6], [0.0, 0.0]]),
]


def _mpe2_spread():
    """The raw pettingzoo parallel env with the settings the port reproduces."""
    from mpe2 import simple_spread_v3

    return simple_spread_v3.parallel_env(N=N, local_ratio=0.5, max_cycles=50, continuous_actions=False)


def _exact_obs(ref) -> np.ndarray:
    """mpe2's observations in float64 (the pettingzoo API casts them to float32): [N, 18]."""
    world, scenario = ref.unwrapped.world, ref.unwrapped.scenario
    return np.stack([scenario.observation(agent, world) for agent in world.agents])


def _act(actions: torch.Tensor) -> TensorDictBase:
    """Wrap [B, N] actions in the layout's input tensordict."""
    return TensorDict({"agents": {"action": actions}}, batch_size=actions.shape[:1])


def test_matches_mpe2_step_by_step() -> None:
    """Whole 50-step episodes with random actions: same obs, team reward and dones as mpe2 (float64)."""
    refs = [_mpe2_spread() for _ in range(len(SEEDS) + len(CRAFTED))]
    first_obs = [ref.reset(seed=seed)[0] for ref, seed in zip(refs, SEEDS + [0] * len(CRAFTED), strict=True)]
    for ref, (agents, landmarks) in zip(refs[len(SEEDS) :], CRAFTED, strict=True):
        world = ref.unwrapped.world
        for entity, p in zip(world.agents + world.landmarks, agents + landmarks, strict=True):
            entity.state.p_pos = np.array(p, dtype=np.float64)
    worlds = [ref.unwrapped.world for ref in refs]
    agent_pos = torch.tensor(np.array([[a.state.p_pos for a in w.agents] for w in worlds]))  # [B, N, 2]
    landmark_pos = torch.tensor(np.array([[m.state.p_pos for m in w.landmarks] for w in worlds]))  # [B, N, 2]

    env = MPESpreadEnv(num_envs=len(refs), dtype=torch.float64, seed=0)
    env.reset()
    out = env.set_positions(agent_pos, landmark_pos)
    pz_obs = np.stack([np.stack(list(o.values())) for o in first_obs[: len(SEEDS)]])  # [S, N, 18] float32
    torch.testing.assert_close(out["agents", "observation"][: len(SEEDS)], torch.tensor(pz_obs, dtype=torch.float64))
    torch.testing.assert_close(out["agents", "observation"], torch.tensor(np.stack([_exact_obs(r) for r in refs])))

    gen = torch.Generator().manual_seed(1234)
    penalties = 0.0
    for t in range(50):
        actions = torch.randint(0, 5, (len(refs), N), generator=gen)  # [B, N]
        nxt = env.step(_act(actions))["next"]
        team, truncated, terminated, pz_obs = [], [], [], []
        for k, ref in enumerate(refs):
            obs, rew, term, trunc, _ = ref.step({f"agent_{i}": int(actions[k, i]) for i in range(N)})
            team.append(sum(rew.values()))
            truncated.append(all(trunc.values()))
            terminated.append(any(term.values()))
            pz_obs.append(np.stack(list(obs.values())))
            world, scenario = ref.unwrapped.world, ref.unwrapped.scenario
            penalties -= sum(scenario.reward(a, world) for a in world.agents)
        exact = torch.tensor(np.stack([_exact_obs(r) for r in refs]))  # [B, N, 18]
        torch.testing.assert_close(nxt["agents", "observation"], exact, rtol=0, atol=1e-9)
        torch.testing.assert_close(nxt["agents", "observation"].float(), torch.tensor(np.stack(pz_obs)))
        torch.testing.assert_close(nxt["state"], exact.flatten(1), rtol=0, atol=1e-9)
        team_reward = torch.tensor(team, dtype=torch.float64).unsqueeze(-1)  # [B, 1]
        torch.testing.assert_close(nxt["reward"], team_reward, rtol=0, atol=1e-9)
        assert nxt["truncated"].squeeze(-1).tolist() == truncated == [t == 49] * len(refs)
        assert nxt["terminated"].squeeze(-1).tolist() == terminated == [False] * len(refs)
        assert nxt["done"].squeeze(-1).tolist() == truncated
    assert penalties > 0, "no collision happened, so the collision path was not exercised"


def test_partial_reset_keeps_other_envs() -> None:
    """Only the envs flagged by ``_reset`` are redrawn; the others keep state and report their current obs."""
    env = MPESpreadEnv(num_envs=6, seed=3)
    env.reset()
    for _ in range(5):
        last = env.rand_step()["next"]
    world, steps = env.world.clone(), env.step_count.clone()
    flag = torch.tensor([True, False, False, True, False, False]).unsqueeze(-1)  # [B, 1]
    out = env.reset(last.clone().set("_reset", flag))
    keep, redo = ~flag.squeeze(-1), flag.squeeze(-1)
    torch.testing.assert_close(env.world[:, keep], world[:, keep], rtol=0, atol=0)
    torch.testing.assert_close(out["agents", "observation"][keep], last["agents", "observation"][keep], rtol=0, atol=0)
    assert env.step_count[keep].tolist() == steps[keep].tolist() and env.step_count[redo].tolist() == [0, 0]
    assert (env.agent_vel[redo] == 0).all() and not (env.agent_pos[redo] == world[6:12, redo].T.reshape(2, 3, 2)).any()
    assert not out["done"].any()


def test_rollout_and_collector_auto_reset() -> None:
    """Episodes are truncated every 50 steps and auto-reset, in ``rollout`` and in a ``Collector``."""
    env = make("mpe_spread", 4, seed=0)
    roll = env.rollout(120, break_when_any_done=False)
    assert roll.batch_size == (4, 120)
    done_steps = roll["next", "done"].squeeze(-1).nonzero()[:, 1].unique().tolist()
    assert done_steps == [49, 99]
    assert (roll["next", "episode_reward"][:, 49] < 0).all()

    collector = Collector(make("mpe_spread", 8, seed=1), None, frames_per_batch=8 * 60, total_frames=8 * 120)
    batches = list(collector)
    collector.shutdown()
    assert len(batches) == 2 and batches[0].batch_size == (8, 60)
    done = torch.cat([b["next", "done"] for b in batches], dim=1).squeeze(-1)  # [8, 120]
    assert done.nonzero()[:, 1].unique().tolist() == [49, 99]
    assert torch.isfinite(batches[1]["agents", "observation"]).all()


def test_state_dict_round_trip_reproduces_future() -> None:
    """``state_dict`` holds the whole simulator state, generator included: a restored env replays exactly."""

    def play(env: MPESpreadEnv, td: TensorDictBase, steps: int, seed: int) -> list[TensorDictBase]:
        gen, outs = torch.Generator().manual_seed(seed), []
        for _ in range(steps):
            td.set(("agents", "action"), torch.randint(0, 5, (env.num_envs, N), generator=gen))
            stepped, td = env.step_and_maybe_reset(td)  # crosses the step-50 auto-reset: uses the generator
            outs.append(stepped["next"].clone())
        return outs

    env = MPESpreadEnv(num_envs=5, seed=11)
    td = env.reset()
    _, td = env.step_and_maybe_reset(env.rand_action(td))
    td = play(env, td, 44, seed=0)[-1]
    saved, td_saved = copy.deepcopy(env.state_dict()), td.clone()  # state_dict aliases the live buffers
    expected = play(env, td, 10, seed=1)

    fresh = MPESpreadEnv(num_envs=5, seed=999)
    fresh.reset()
    fresh.load_state_dict(saved)
    got = play(fresh, td_saved, 10, seed=1)
    for a, b in zip(expected, got, strict=True):
        assert (a == b).all()
    assert expected[4]["done"].all() and not expected[5]["done"].any()  # the window crossed an auto-reset


def test_check_env_specs() -> None:
    """Both the port and the pettingzoo reference satisfy their specs (through ``make``)."""
    check_env_specs(make("mpe_spread", 4, seed=0))
    check_env_specs(make("mpe_spread_pettingzoo", 2, seed=0))


def _layout(td: TensorDictBase) -> dict:
    """Key -> (shape, dtype) of every leaf."""
    return {key: (tuple(v.shape), v.dtype) for key, v in td.items(include_nested=True, leaves_only=True)}


def test_pettingzoo_reference_has_same_layout() -> None:
    """The reference and the port expose the same keys, shapes and dtypes, in specs and in rollouts."""
    ours, ref = make("mpe_spread", 2, seed=0), make("mpe_spread_pettingzoo", 2, seed=0)
    for name in ("full_observation_spec", "full_action_spec", "full_reward_spec", "full_done_spec"):
        a, b = getattr(ours, name), getattr(ref, name)
        assert _layout(a.zero()) == _layout(b.zero()), name
        assert type(a) is type(b) and all(type(a[k]) is type(b[k]) for k in a.keys(True, True)), name
    assert _layout(ours.rollout(3)) == _layout(ref.rollout(3))
    ref_roll = ref.rollout(50)
    assert ref_roll["next", "done"][:, -1].all() and not ref_roll["next", "done"][:, :-1].any()
