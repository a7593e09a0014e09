"""The authors' LBF rules (``env=lbf``: levels 1-3, first-listed collisions) next to lbforaging 2.0.0's
(``env=lbf_released``): hand-set scenarios under both collision rules, step-for-step play against lbforaging with
the authors' collision rule, the level and food-level law, observation bounds, random-play returns against the
figures measured on both original envs, and bad settings refused before any compute."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import pytest
import torch
from lbforaging.foraging.environment import Action, ForagingEnv

from batpal.envs import make
from batpal.envs.lbf import LBF_DEFAULTS
from batpal.envs.lbf_batched import AUTHORS_RULES, LBFBatchedEnv
from batpal.fit import fit
from tests.conftest import TINY, compose_config
from tests.envs.test_lbf_batched import CRAFTED, _act, _play_against_lbforaging

pytestmark = pytest.mark.filterwarnings("ignore")

Z, N_, S_, W, E, L = 0, 1, 2, 3, 4, 5  # NONE, NORTH, SOUTH, WEST, EAST, LOAD
PARK = [(0, 0), (0, 9), (9, 0), (9, 9)]  # corners for the players a scenario does not name
RULES = ("block", "first_listed")
STEP = {N_: (-1, 0), S_: (1, 0), W: (0, -1), E: (0, 1)}


class FirstListedForaging(ForagingEnv):
    """lbforaging with the authors' collision rule, as an oracle independent of the port: every claimed cell goes to
    its lowest-index claimant, then lbforaging's own step resolves the loads with every other action standing."""

    def step(self, actions):
        acts = [a if Action(a) in self._valid_actions[p] else Z for p, a in zip(self.players, actions, strict=True)]
        owner: dict[tuple[int, int], object] = {}
        for p, a in zip(self.players, acts, strict=True):
            dr, dc = STEP.get(a, (0, 0))
            owner.setdefault((p.position[0] + dr, p.position[1] + dc), p)
        for cell, p in owner.items():
            p.position = cell
        return super().step([a if a == L else Z for a in acts])


def _scenario(
    rule: str,
    players: list[tuple[int, int]],
    levels: list[int],
    food: list[tuple[int, int, int]],
    step_count: int = 0,
) -> LBFBatchedEnv:
    """One game of 5 players (unnamed ones parked at corners) on a hand-set field, under collision ``rule``."""
    players = players + PARK[: 5 - len(players)]
    env = LBFBatchedEnv(num_envs=1, seed=0, **{**AUTHORS_RULES, "collisions": rule})
    env.set_state(
        player_pos=torch.tensor([players]),
        player_level=torch.tensor([levels + [1] * (5 - len(levels))]),
        food_pos=torch.tensor([[(r, c) for r, c, _ in food]]),
        food_level=torch.tensor([[lvl for *_, lvl in food]]),
        step_count=torch.tensor([step_count]),
    )
    return env


def _go(env: LBFBatchedEnv, actions: list[int]) -> tuple[list[tuple[int, int]], float, dict]:
    """Step with ``actions`` (padded with NONE): the players' cells, the team reward and the next tensordict."""
    nxt = env.step(_act(torch.tensor([actions + [Z] * (5 - len(actions))])))["next"]
    return [tuple(p) for p in env.player_pos[0].tolist()], float(nxt["reward"]), nxt


@pytest.mark.parametrize("rule", RULES)
def test_t1_two_movers_claim_one_cell(rule: str) -> None:
    """The lowest-index mover takes the cell under first_listed, whichever side it comes from; block moves none."""
    cells, _, _ = _go(_scenario(rule, [(5, 4), (5, 6)], [1, 1], [(2, 2, 3)]), [E, W])
    assert cells[:2] == ([(5, 5), (5, 6)] if rule == "first_listed" else [(5, 4), (5, 6)])
    cells, _, _ = _go(_scenario(rule, [(5, 6), (5, 4)], [1, 1], [(2, 2, 3)]), [W, E])
    assert cells[:2] == ([(5, 5), (5, 4)] if rule == "first_listed" else [(5, 6), (5, 4)])


@pytest.mark.parametrize("rule", RULES)
def test_t2_standing_players_block_or_are_overlapped_then_load_together(rule: str) -> None:
    """A standing lower-index player blocks a mover under both rules; a standing higher-index one is joined on its
    cell under first_listed (both then seen there and both load: 2 * 4 / (4 * 8) each, 0.5 in all)."""
    cells, _, _ = _go(_scenario(rule, [(5, 5), (5, 6)], [1, 1], [(2, 2, 3)]), [Z, W])
    assert cells[:2] == [(5, 5), (5, 6)]
    env = _scenario(rule, [(5, 6), (5, 5)], [2, 2], [(4, 5, 4), (2, 2, 4)])
    cells, _, nxt = _go(env, [W, Z])
    if rule == "block":
        assert cells[:2] == [(5, 6), (5, 5)]
        assert _go(env, [L, L])[1] == 0.0  # P0 is not next to the food: P1's level 2 < 4 alone
        return
    assert cells[:2] == [(5, 5), (5, 5)]
    obs = nxt["agents", "observation"][0]  # [N, obs]: players from slot 10 on, self first
    assert torch.equal(obs[0, 30:33], obs[0, 33:36]) and torch.equal(obs[1, 30:33], obs[1, 33:36])
    _, reward, _ = _go(env, [L, L])
    assert reward == pytest.approx(0.5) and env.field[0, 4, 5] == 0 and env.field[0, 2, 2] == 4
    cells, _, _ = _go(env, [S_, S_])  # sharing a cell, both move the same way: only the lower index goes
    assert cells[:2] == [(6, 5), (5, 5)]


@pytest.mark.parametrize("rule", RULES)
def test_t3_three_claimants_and_t4_swap(rule: str) -> None:
    """Three players aim at (5, 5): only player 0 moves under first_listed, none under block; a swap always works."""
    cells, _, _ = _go(_scenario(rule, [(5, 6), (5, 4), (6, 5)], [1, 1, 1], [(2, 2, 3)]), [W, E, N_])
    assert cells[:3] == ([(5, 5), (5, 4), (6, 5)] if rule == "first_listed" else [(5, 6), (5, 4), (6, 5)])
    cells, _, _ = _go(_scenario(rule, [(5, 5), (5, 6)], [1, 1], [(2, 2, 3)]), [E, W])
    assert cells[:2] == [(5, 6), (5, 5)]


@pytest.mark.parametrize("rule", RULES)
def test_t5_solo_load_by_a_level_3_player_and_episode_end(rule: str) -> None:
    """Levels [3, 1, 1, 1, 3] make food level 3: player 0 eats alone (3 * 3 / (3 * 6) = 0.5 to the team); eating the
    last food terminates the episode with the whole normalised return 1."""
    env = _scenario(rule, [(4, 5)], [3, 1, 1, 1, 3], [(5, 5, 3), (2, 2, 3)])
    _, reward, nxt = _go(env, [L])
    assert reward == pytest.approx(0.5) and not nxt["done"].any() and env.field[0].sum() == 3
    env = _scenario(rule, [(4, 5)], [3, 1, 1, 1, 3], [(5, 5, 3)], step_count=9)
    _, reward, nxt = _go(env, [L])
    assert reward == pytest.approx(1.0) and nxt["terminated"].all() and not nxt["truncated"].any()


@pytest.mark.parametrize("rule", RULES)
def test_t6_reward_split_is_summed_for_the_team_and_the_step_limit_truncates(rule: str) -> None:
    """Levels 1 and 2 load food 3 (6 spawned): shares 1/6 and 1/3 reach the team as 0.5; at step 50 with food left
    the episode is truncated, not terminated."""
    env = _scenario(rule, [(4, 5), (5, 4)], [1, 2, 1, 1, 3], [(5, 5, 3), (2, 2, 3)], step_count=49)
    _, reward, nxt = _go(env, [L, L])
    assert reward == pytest.approx(1 / 6 + 1 / 3) and nxt["truncated"].all() and not nxt["terminated"].any()


def test_authors_rules_match_lbforaging_with_first_listed_collisions_step_by_step() -> None:
    """Levels 1-3 and first-listed moves against lbforaging stepped by ``FirstListedForaging``: 20 seeds and the crafted
    fields, two 50-step episodes each, with contested cells and shared cells seen."""
    counts = _play_against_lbforaging({"max_player_level": 3}, 20, CRAFTED, 50, "first_listed", FirstListedForaging)
    assert counts["loads"] >= 10 and counts["eaten"] >= 10 and counts["cleared"] >= 1, counts
    assert counts["collisions"] >= 10 and counts["shared"] >= 10, counts


def test_level_draws_and_food_levels_follow_the_authors_law() -> None:
    """Levels cover exactly {1, 2, 3}, each with frequency 1/3 (within 4 SE); every food's level is the sum of the 3
    lowest player levels, with the exact law of that sum over 3^5 level draws (within 4 SE), including the share of
    resets a level-3 player can eat alone (35/243)."""
    env = make("lbf", 6000, seed=5).base_env
    env.reset()
    level, field = env.player_level, env.field  # [B, N], [B, 10, 10]
    values, counts = level.unique(return_counts=True)
    assert values.tolist() == [1, 2, 3]
    share, se = counts / level.numel(), math.sqrt(2 / 9 / level.numel())
    assert ((share - 1 / 3).abs() < 4 * se).all(), share
    cap = level.sort(-1).values[:, :3].sum(-1)  # [B]
    food = field.flatten(1)
    assert ((food == 0) | (food == cap.unsqueeze(-1))).all() and (food.amax(-1) == cap).all()
    draws = torch.tensor(list(itertools.product((1, 2, 3), repeat=5)))  # [243, 5]
    exact = torch.bincount(draws.sort(-1).values[:, :3].sum(-1), minlength=10) / 243
    seen = torch.bincount(cap, minlength=10) / len(cap)
    assert set(cap.unique().tolist()) <= set(range(3, 10))
    assert ((seen - exact).abs() < 4 * (exact * (1 - exact) / len(cap)).sqrt() + 1e-9).all(), (seen, exact)
    solo = (level.amax(-1) >= cap).float().mean()
    assert abs(solo - 35 / 243) < 4 * math.sqrt(35 / 243 * (1 - 35 / 243) / len(cap))


def test_observations_stay_within_the_spec_under_the_authors_rules() -> None:
    """Food levels reach 9 and player levels 3: the spec's bounds (9 and 3) hold every observation of random play,
    including a hand-set field of level-9 food."""
    env = make("lbf", 4000, seed=2)
    spec = env.observation_spec["agents", "observation"]
    assert spec.space.high[0, 0, 2] == 9 and spec.space.high[0, 0, -1] == 3
    td, top = env.reset(), 0.0
    for _ in range(10):
        assert spec.is_in(td["agents", "observation"])
        top = max(top, float(td["agents", "observation"][..., 2:30:3].max()))
        td = env.rand_step(td)["next"]
    assert top == 9
    one = _scenario("first_listed", [(4, 4)], [3, 3, 3, 3, 3], [(5, 5, 9)])
    assert one.observation_spec["agents", "observation"].is_in(one._output(None)["agents", "observation"])


def _random_play(name: str, episodes: int, seed: int) -> tuple[float, float]:
    """Mean team return and its SE over ``episodes`` 50-step episodes of uniformly random valid actions."""
    env = make(name, episodes, seed=seed)
    gen, td, total = torch.Generator().manual_seed(seed), env.reset(), torch.zeros(episodes, dtype=torch.float64)
    for _ in range(50):
        mask = td["agents", "action_mask"].flatten(0, 1).float()
        td.set(("agents", "action"), torch.multinomial(mask, 1, generator=gen).view(episodes, -1))
        td = env.step(td)["next"]
        total += td["reward"].squeeze(-1)
    assert td["done"].all()
    return float(total.mean()), float(total.std() / math.sqrt(episodes))


# Mean team return (SE) of uniformly random valid play per 50-step episode on the original envs: the authors' env over
# 4000 episodes; lbforaging 2.0.0 pools 4000 episodes (0.0110 +- 0.0005) with 8000 more (0.0125 +- 0.0004).
ORIGINAL_RANDOM_PLAY = {"lbf": (0.0478, 0.0017), "lbf_released": (0.0120, 0.0003)}


@pytest.mark.parametrize("name", sorted(ORIGINAL_RANDOM_PLAY))
def test_random_play_return_matches_the_original_envs(name: str) -> None:
    """12000 random-play episodes agree with the mean team return measured on the original env (the authors' for
    ``lbf``, lbforaging 2.0.0 for ``lbf_released``) within 4 SE of the difference: a correct port fails with
    probability ~1e-4, while the ~0.036 gap between the two rule sets is over 4 such tolerances."""
    theirs, theirs_se = ORIGINAL_RANDOM_PLAY[name]
    ours, se = _random_play(name, 12000, seed=0)
    tolerance = 4 * math.hypot(se, theirs_se)
    assert abs(ours - theirs) < tolerance and tolerance < (0.0478 - 0.0120) / 4, (ours, se, tolerance)


def test_registry_names_run_their_rule_sets() -> None:
    """``lbf`` is the authors' rules, ``lbf_released`` lbforaging's defaults; both take overrides."""
    authors, released = make("lbf", 1).base_env, make("lbf_released", 1).base_env
    assert (authors.collisions, authors.player_levels) == ("first_listed", (1, 3))
    assert (released.collisions, released.player_levels) == ("block", (1, LBF_DEFAULTS["max_player_level"]))
    assert make("lbf", 1, collisions="block", max_player_level=2).base_env.collisions == "block"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(collisions="foo"), "collisions='foo'; choose one of block, first_listed"),
        (dict(min_player_level=0), "min_player_level must be >= 1"),
        (dict(min_player_level=3, max_player_level=2), "min_player_level=3 exceeds max_player_level=2"),
        (dict(min_food_level=0), "min_food_level must be >= 1"),
        (dict(min_food_level=5, max_food_level=4), "min_food_level=5 exceeds max_food_level=4"),
        (dict(force_coop=False, min_food_level=4), "min_food_level=4 exceeds the food-level cap"),
        (dict(max_num_food=17), r"max_num_food=17 is more food than a 10x10 field can hold \(16"),
        (dict(sight=0), "sight must be >= 1"),
        (dict(players=0), "players must be >= 1"),
        (dict(field_size=(2, 10)), "field_size must be"),
        (dict(colisions="block"), r"Unknown LBF option\(s\) \['colisions'\]"),
    ],
)
def test_bad_settings_fail_before_any_compute(kwargs: dict, message: str) -> None:
    """A bad option is named at construction, before a tensor is built: 10^8 games would need ~100 GB of tables."""
    for name in ("lbf", "lbf_released"):
        with pytest.raises(ValueError, match=message):
            make(name, 10**8, seed=0, **kwargs)


def test_bad_settings_of_the_python_env_and_through_fit(tmp_path: Path) -> None:
    """``lbf_lbforaging`` refuses the port-only option and bad ranges; ``fit`` stops on them before training."""
    with pytest.raises(ValueError, match=r"Unknown LBF option\(s\) \['collisions'\]"):
        make("lbf_lbforaging", 1, collisions="first_listed")
    with pytest.raises(ValueError, match="max_player_level=1"):
        make("lbf_lbforaging", 1, min_player_level=2, max_player_level=1)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="collisions='foo'"):
        fit(compose_config(["experiment=lbf", *TINY, "+env.kwargs.collisions=foo"], tmp_path / "run"))
    assert time.perf_counter() - start < 5.0
