"""The batched LBF port under lbforaging 2.0.0's rules (``lbf_released``) against lbforaging itself: step-by-step
equivalence, spawn law, resets, state, specs. The authors' rules (``lbf``) are tested in ``test_lbf_rules.py``."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from lbforaging.foraging.environment import Action, ForagingEnv
from tensordict import TensorDict, TensorDictBase
from torchrl.envs.utils import check_env_specs

from batpal.envs.lbf import LBF_DEFAULTS, LBFEnv
from batpal.envs.lbf_batched import LBFBatchedEnv, make_lbf_batched

pytestmark = pytest.mark.filterwarnings("ignore")

N, STEPS = 5, 50
SEEDS = list(range(30))
# Crafted starts (players as (row, col, level), food as (row, col, level)) where loads and a full clear are likely.
CRAFTED = [
    ([(3, 4, 1), (5, 4, 1), (4, 3, 1), (4, 5, 2), (0, 0, 2)], [(4, 4, 3)]),
    ([(1, 2, 1), (3, 2, 1), (2, 1, 1), (6, 5, 1), (5, 6, 1)], [(2, 2, 3), (6, 6, 3)]),
    ([(0, 1, 2), (1, 0, 2), (9, 9, 1), (9, 8, 1), (8, 9, 1)], [(1, 1, 3), (8, 8, 3)]),
]


def _act(actions: torch.Tensor) -> TensorDictBase:
    """Wrap [B, N] actions in the layout's input tensordict."""
    return TensorDict({"agents": {"action": actions}}, batch_size=actions.shape[:1])


def _set_ref(ref: ForagingEnv, players: list[tuple[int, int, int]], food: list[tuple[int, int, int]]) -> None:
    """Put a crafted field into an lbforaging game (as ``LBFEnv.load_env_state`` does)."""
    ref.field = np.zeros_like(ref.field)
    for r, c, lvl in food:
        ref.field[r, c] = lvl
    for player, (r, c, lvl) in zip(ref.players, players, strict=True):
        player.setup((r, c), lvl, ref.field.shape)
        player.reward = 0
    ref.current_step, ref._game_over, ref._food_spawned = 0, False, ref.field.sum()
    ref._gen_valid_moves()


def _game(env: LBFBatchedEnv, k: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """Game ``k`` of the port as ``_set_ref`` arguments: players then food, as (row, col, level)."""
    players = [
        (r, c, lvl) for (r, c), lvl in zip(env.player_pos[k].tolist(), env.player_level[k].tolist(), strict=True)
    ]
    field = env.field[k]
    return players, [(r, c, int(field[r, c])) for r, c in field.nonzero().tolist()]


def _copy_fields(refs: list[ForagingEnv]) -> dict[str, torch.Tensor]:
    """lbforaging's games as ``set_state`` arguments (food padded to ``max_num_food`` slots with level 0)."""
    f = refs[0].max_num_food
    food_pos, food_level = torch.zeros(len(refs), f, 2, dtype=torch.long), torch.zeros(len(refs), f, dtype=torch.long)
    for k, ref in enumerate(refs):
        rows, cols = np.nonzero(ref.field)
        food_pos[k, : len(rows)] = torch.tensor(np.stack([rows, cols], -1))
        food_level[k, : len(rows)] = torch.tensor(ref.field[rows, cols])
    return dict(
        player_pos=torch.tensor([[list(p.position) for p in ref.players] for ref in refs]),  # [B, N, 2]
        player_level=torch.tensor([[int(p.level) for p in ref.players] for ref in refs]),  # [B, N]
        food_pos=food_pos,
        food_level=food_level,
        step_count=torch.tensor([ref.current_step for ref in refs]),
        food_spawned=torch.tensor([int(ref._food_spawned) for ref in refs]),
    )


def _ref_masks(refs: list[ForagingEnv]) -> torch.Tensor:
    """lbforaging's ``_valid_actions`` as [B, N, 6] bool."""
    return torch.tensor([[[Action(a) in ref._valid_actions[p] for a in range(6)] for p in ref.players] for ref in refs])


def _policy(mask: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Random valid actions, LOAD half of the time it is valid, and 5% raw draws (invalid ones become NONE)."""
    actions = torch.zeros(mask.shape[:2], dtype=torch.long)
    for (k, p), valid in zip(np.ndindex(*mask.shape[:2]), mask.reshape(-1, 6).numpy(), strict=True):
        if valid[Action.LOAD.value] and rng.random() < 0.5:
            actions[k, p] = Action.LOAD.value
        elif rng.random() < 0.05:
            actions[k, p] = int(rng.integers(6))
        else:
            actions[k, p] = int(rng.choice(np.flatnonzero(valid)))
    return actions


def _collisions(refs: list[ForagingEnv], actions: torch.Tensor) -> int:
    """How many pairs of players move to the same cell this step in lbforaging's games."""
    deltas = {1: (-1, 0), 2: (1, 0), 3: (0, -1), 4: (0, 1)}
    count = 0
    for ref, acts in zip(refs, actions.tolist(), strict=True):
        targets = [
            (p.position[0] + deltas[a][0], p.position[1] + deltas[a][1])
            for p, a in zip(ref.players, acts, strict=True)
            if a in deltas and Action(a) in ref._valid_actions[p]
        ]
        count += len(targets) - len(set(targets))
    return count


def _play_against_lbforaging(
    kwargs: dict,
    n_seeds: int,
    crafted: list,
    steps: int,
    collisions: str = "block",
    reference: type[ForagingEnv] = ForagingEnv,
) -> dict[str, int]:
    """Two whole episodes per game, from lbforaging's spawns (seeds, then ``crafted`` fields) and then from ours:
    assert the same observations, masks, team rewards, fields and flags at every step as ``reference`` games with
    the same ``kwargs``; count the events seen (``shared``: games with two players on one cell after a step)."""
    settings = {**LBF_DEFAULTS, **kwargs}
    refs = [reference(**settings) for _ in range(n_seeds + len(crafted))]
    env = LBFBatchedEnv(num_envs=len(refs), seed=0, collisions=collisions, **kwargs)
    env.reset()
    rng = np.random.default_rng(0)
    counts = dict(loads=0, failed_loads=0, eaten=0, collisions=0, cleared=0, shared=0)
    for episode in range(2):
        if episode == 0:  # lbforaging's spawns (and the crafted fields) copied into the port
            for k, ref in enumerate(refs):
                ref.reset(seed=k)
                if k >= n_seeds:
                    _set_ref(ref, *crafted[k - n_seeds])
            out = env.set_state(**_copy_fields(refs))
        else:  # the port's own spawns copied into lbforaging
            out = env.reset()
            for k, ref in enumerate(refs):
                _set_ref(ref, *_game(env, k))
        expected = np.stack([np.stack(ref._make_gym_obs()) for ref in refs])  # [B, N, obs]
        np.testing.assert_array_equal(out["agents", "observation"].numpy(), expected)
        assert torch.equal(out["agents", "action_mask"], _ref_masks(refs))
        for _ in range(steps):
            actions = _policy(_ref_masks(refs), rng)  # [B, N]
            counts["collisions"] += _collisions(refs, actions)
            food_before = env.field.clone()
            nxt = env.step(_act(actions))["next"]
            results = [ref.step(acts) for ref, acts in zip(refs, actions.tolist(), strict=True)]
            expected = np.stack([np.stack(res[0]) for res in results])
            np.testing.assert_array_equal(nxt["agents", "observation"].numpy(), expected)
            assert torch.equal(nxt["agents", "action_mask"], _ref_masks(refs))
            team = torch.tensor([[sum(res[1])] for res in results], dtype=torch.float32)  # [B, 1]
            torch.testing.assert_close(nxt["reward"], team, rtol=0, atol=1e-6)
            assert torch.equal(env.field, torch.tensor(np.stack([ref.field for ref in refs])))
            terminated = torch.tensor([[ref.field.sum() == 0] for ref in refs])
            assert torch.equal(nxt["terminated"], terminated)
            assert torch.equal(nxt["done"], torch.tensor([[res[2]] for res in results]))
            assert torch.equal(nxt["truncated"], nxt["done"] & ~terminated)
            counts["loads"] += int((nxt["reward"] > 0).sum())
            counts["failed_loads"] += sum(min(res[1]) < 0 for res in results)
            counts["eaten"] += int(((food_before > 0) & (env.field == 0)).sum())
            counts["cleared"] += int((terminated & (food_before.flatten(1).sum(-1, keepdim=True) > 0)).sum())
            counts["shared"] += sum(len({p.position for p in ref.players}) < len(ref.players) for ref in refs)
        assert nxt["done"].all()
    return counts


def test_matches_lbforaging_step_by_step() -> None:
    """``lbf_released``'s setting on 30 seeds and 3 crafted fields, two 50-step episodes each."""
    counts = _play_against_lbforaging({}, len(SEEDS), CRAFTED, STEPS)
    assert counts["loads"] >= 10 and counts["eaten"] >= 10, counts
    assert counts["collisions"] >= 10 and counts["cleared"] >= 1, counts


def test_other_settings_match_lbforaging() -> None:
    """Smaller field and sight, 3 players, free food levels, raw rewards with a penalty for failed loads."""
    kwargs = dict(
        players=3,
        field_size=(8, 7),
        max_num_food=4,
        sight=2,
        max_player_level=3,
        max_episode_steps=25,
        force_coop=False,
        normalize_reward=False,
        penalty=0.25,
    )
    counts = _play_against_lbforaging(kwargs, 12, [], 25)
    assert counts["loads"] >= 5 and counts["failed_loads"] >= 5, counts


def test_collision_rules_match_lbforaging() -> None:
    """Scripted moves: blocked pair, swap, a mover landing on a blocked player (overlap), a move into a stayer."""
    players = [(5, 5, 1), (5, 6, 1), (5, 8, 2), (0, 0, 1), (1, 0, 2)]
    ref = ForagingEnv(**LBF_DEFAULTS)
    ref.reset(seed=0)
    _set_ref(ref, players, [(8, 2, 3)])
    env = LBFBatchedEnv(num_envs=1, seed=0)
    env.set_state(**_copy_fields([ref]))
    script = [[4, 4, 3, 2, 1], [0, 0, 3, 4, 2], [0, 5, 3, 0, 0]]  # EAST=4, WEST=3, SOUTH=2, NORTH=1
    final = [[(5, 6), (5, 6), (5, 8), (1, 0), (0, 0)], [(5, 6), (5, 6), (5, 7), (1, 1), (1, 0)]]
    for t, acts in enumerate(script):
        nxt = env.step(_act(torch.tensor([acts])))["next"]
        obs, *_ = ref.step(acts)
        np.testing.assert_array_equal(nxt["agents", "observation"][0].numpy(), np.stack(obs))
        assert env.player_pos[0].tolist() == [list(p.position) for p in ref.players]
        if t < len(final):
            assert [tuple(p) for p in env.player_pos[0].tolist()] == final[t]
    assert env.player_pos[0].tolist() == [[5, 6], [5, 6], [5, 7], [1, 1], [1, 0]]  # LOAD invalid -> NONE


def _spawn_summary(pos: np.ndarray, level: np.ndarray, field: np.ndarray) -> dict[str, np.ndarray]:
    """Per-reset statistics of spawns from players [R, N, 2], levels [R, N] and fields [R, 10, 10]."""
    food = field > 0  # [R, 10, 10]
    ring = food.copy()
    ring[:, 2:8, 2:8] = False  # the interior's outer ring
    next_to_player = np.zeros_like(food)
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        rows, cols = np.clip(pos[..., 0] + dr, 0, 9), np.clip(pos[..., 1] + dc, 0, 9)
        next_to_player[np.arange(len(pos))[:, None], rows, cols] = True
    return dict(
        n_food=food.sum((1, 2)),
        ten_food=food.sum((1, 2)) == 10,
        level2=(level == 2).mean(1),
        ring=ring.sum((1, 2)) / food.sum((1, 2)),
        near_player=(food & next_to_player).sum((1, 2)),
        border_player=((pos == 0) | (pos == 9)).any(-1).mean(1),
        **{f"food_level_{v}": field.max((1, 2)) == v for v in (3, 4, 5, 6)},
    )


def _close(ours: np.ndarray, theirs: np.ndarray, sigmas: float = 4.0) -> bool:
    """Whether two samples' means agree within ``sigmas`` standard errors of their difference (loose check)."""
    se = np.sqrt(ours.var() / len(ours) + theirs.var() / len(theirs))
    return abs(ours.mean() - theirs.mean()) <= sigmas * se + 1e-9


def test_spawn_law_matches_lbforaging() -> None:
    """Food count, levels and placement against lbforaging's own resets, plus its spawn rules on every draw."""
    ref = ForagingEnv(**LBF_DEFAULTS)
    ref_pos, ref_level, ref_field, ref_reuse = [], [], [], 0
    for seed in range(600):
        old = [p.position for p in ref.players]
        ref.reset(seed=seed)
        new = [p.position for p in ref.players]
        ref_reuse += sum(new[i] == old[j] for i in range(N) for j in range(i, N) if old[j] is not None)
        ref_pos.append(new)
        ref_level.append([p.level for p in ref.players])
        ref_field.append(ref.field.copy())
    theirs = _spawn_summary(np.array(ref_pos), np.array(ref_level), np.stack(ref_field))

    env = LBFBatchedEnv(num_envs=1000, seed=1)
    pos, level, field, reuse = [], [], [], 0
    for _ in range(3):  # the first reset has no previous positions, the next two do
        old, was_placed = env.player_pos, env.placed.clone()
        env.reset()
        same = (env.player_pos.unsqueeze(2) == old.unsqueeze(1)).all(-1).triu()  # [B, N, N] new i on old j >= i
        reuse += int((same & was_placed.view(-1, 1, 1)).sum())
        pos.append(env.player_pos.numpy())
        level.append(env.player_level.numpy())
        field.append(env.field.numpy())
    pos, level, field = np.concatenate(pos), np.concatenate(level), np.concatenate(field)
    ours = _spawn_summary(pos, level, field)
    for key in ours:
        assert _close(ours[key], theirs[key]), (key, ours[key].mean(), theirs[key].mean())
    exact = {3: 16 / 32, 4: 10 / 32, 5: 5 / 32, 6: 1 / 32}  # sum of the 3 lowest of 5 levels uniform in {1, 2}
    for v, p in exact.items():
        assert abs(ours[f"food_level_{v}"].mean() - p) < 0.02
    # lbforaging's players never land on a cell held before by themselves or a later player (~0.15 per reset else)
    assert ref_reuse == 0 and reuse == 0

    # hard rules on every draw: one food level (sum of the 3 lowest player levels) on interior cells, off the
    # players, spaced; players on distinct cells
    assert set(np.unique(level).tolist()) == {1, 2} and (ours["n_food"] >= 1).all()
    assert not field[:, [0, 9]].any() and not field[:, :, [0, 9]].any()
    assert (field.max((1, 2)) == np.sort(level, 1)[:, :3].sum(1)).all()
    assert ((field > 0).sum((1, 2)) * field.max((1, 2)) == field.sum((1, 2))).all()
    game, rows, cols = np.nonzero(field)
    padded = np.pad(field > 0, ((0, 0), (2, 2), (2, 2)))
    for dr, dc in [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc] + [(-2, 0), (2, 0), (0, -2), (0, 2)]:
        assert not padded[game, rows + 2 + dr, cols + 2 + dc].any(), (dr, dc)
    assert not field[np.arange(len(pos))[:, None], pos[..., 0], pos[..., 1]].any()
    assert all(len(set(row)) == N for row in (pos[..., 0] * 10 + pos[..., 1]).tolist())


def test_spawn_budget_matches_lbforaging_on_a_crowded_field() -> None:
    """30x30 with 150 food: lbforaging's 1000-proposal budget binds (~115 food without it, ~109 with it)."""
    kwargs = dict(field_size=(30, 30), max_num_food=150)
    ref = ForagingEnv(**{**LBF_DEFAULTS, **kwargs})
    theirs = []
    for seed in range(60):
        ref.reset(seed=seed)
        theirs.append((ref.field > 0).sum())
    theirs = np.array(theirs)
    env = LBFBatchedEnv(num_envs=500, seed=0, **kwargs)
    env.reset()
    ours = (env.field > 0).sum((1, 2)).numpy()
    assert _close(ours, theirs) and abs(ours.mean() - theirs.mean()) < 2, (ours.mean(), theirs.mean())


def test_partial_reset_keeps_other_envs() -> None:
    """Only the envs flagged by ``_reset`` are respawned; the others keep their state and observation."""
    env = LBFBatchedEnv(num_envs=6, seed=3)
    td = env.reset()
    for _ in range(5):
        td = env.rand_step(td)["next"].clone()
    before = {k: v.clone() for k, v in env.state_dict().items() if isinstance(v, torch.Tensor)}
    flag = torch.tensor([True, False, False, True, False, False]).unsqueeze(-1)  # [B, 1]
    out = env.reset(td.clone().set("_reset", flag))
    keep, redo = ~flag.squeeze(-1), flag.squeeze(-1)
    assert set(before) >= {"pos", "level", "food_pos", "food_level", "food_spawned", "step_count", "placed"}
    for key, value in before.items():
        now = getattr(env, key)
        if key == "action_mask":  # the one batch-first buffer
            now, value = now.movedim(0, -1), value.movedim(0, -1)
        assert torch.equal(now[..., keep], value[..., keep]), key
    assert torch.equal(out["agents", "observation"][keep], td["agents", "observation"][keep])
    assert torch.equal(out["agents", "action_mask"][keep], td["agents", "action_mask"][keep])
    assert env.step_count[redo].tolist() == [0, 0] and env.step_count[keep].tolist() == [5] * 4
    assert not torch.equal(env.pos[:, redo], before["pos"][:, redo]) and not out["done"][redo].any()
    state = {k: v.clone() for k, v in env.state_dict().items() if isinstance(v, torch.Tensor)}
    env.reset(out.set("_reset", torch.zeros_like(flag)))  # nothing flagged: nothing changes
    assert all(torch.equal(getattr(env, k), v) for k, v in state.items())


def test_state_dict_round_trip_reproduces_future() -> None:
    """``state_dict`` holds the whole simulator state, generator included: a restored env replays exactly."""

    def play(env: LBFBatchedEnv, td: TensorDictBase, steps: int, seed: int) -> tuple[list, TensorDictBase]:
        gen, outs = torch.Generator().manual_seed(seed), []
        for _ in range(steps):
            mask = td["agents", "action_mask"].float()
            td.set(("agents", "action"), torch.multinomial(mask.flatten(0, 1), 1, generator=gen).view(5, N))
            stepped, td = env.step_and_maybe_reset(td)  # crosses the step-50 auto-reset: uses the generator
            outs.append(stepped["next"].clone())
        return outs, td

    env = LBFBatchedEnv(num_envs=5, seed=11)
    td = play(env, env.reset(), 45, seed=0)[1]
    saved, td_saved = copy.deepcopy(env.state_dict()), td.clone()  # state_dict aliases the live buffers
    expected = play(env, td, 10, seed=1)[0]
    fresh = LBFBatchedEnv(num_envs=5, seed=999)
    fresh.reset()
    fresh.load_state_dict(saved)
    got = play(fresh, td_saved, 10, seed=1)[0]
    for a, b in zip(expected, got, strict=True):
        assert (a == b).all()
    assert expected[4]["truncated"].any() and not expected[5]["done"].any()  # the window crossed an auto-reset


def test_specs_match_lbf_env_and_pass_check() -> None:
    """Same specs as the python-loop ``LBFEnv`` (bounds included), and ``check_env_specs`` passes."""
    ours, ref = make_lbf_batched(3, 0, torch.device("cpu")), LBFEnv(3)
    assert ours.observation_spec == ref.observation_spec
    assert ours.full_reward_spec == ref.full_reward_spec and ours.full_done_spec == ref.full_done_spec
    assert ours.full_action_spec.zero().shape == ref.full_action_spec.zero().shape
    check_env_specs(ours)
    roll = ours.rollout(120, break_when_any_done=False)
    done = roll["next", "done"].squeeze(-1)  # [B, T]
    assert (done.sum(1) >= 2).all() and torch.equal(roll["state"], roll["agents", "observation"].flatten(2))
