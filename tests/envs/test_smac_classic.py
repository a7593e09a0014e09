"""SMAC v1 semantics on smacv2 (``batpal.envs.smac_classic``), tested on fake units without StarCraft II.

``FakeSmacv2`` reproduces the two smacv2 behaviours being fixed, on plain unit objects: ``get_unit_type_id``
without v1's ``else`` (the map-type table overwrites the allies' ids) and ``get_obs_agent`` blanking the whole
enemy block when one enemy is not observable.
"""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from batpal.envs.smac_classic import (
    classic_env_class,
    classic_unit_type_id,
    mask_enemy_rows,
)

# SC2's default (enemy) unit types
ZEALOT, STALKER, COLOSSUS = 73, 74, 4
MARINE, MARAUDER, MEDIVAC = 48, 51, 54
CUSTOM = 1970  # the smallest custom ally unit type on a SMAC map (allies use the map's own unit types)

# map type, ally custom types in the map's order (v1: id = type - min), enemy SC2 types with v1's ids
CLASSIC = {
    "2s3z": ("stalkers_and_zealots", 2, {STALKER: 1, ZEALOT: 0}),
    "MMM": ("MMM", 3, {MARAUDER: 0, MARINE: 1, MEDIVAC: 2}),
    "1c3s5z": ("colossi_stalkers_zealots", 3, {COLOSSUS: 0, STALKER: 1, ZEALOT: 2}),
}


def unit(unit_type: int, x: float = 0.0, y: float = 0.0, health: float = 45.0) -> SimpleNamespace:
    return SimpleNamespace(unit_type=unit_type, health=health, health_max=45.0, pos=SimpleNamespace(x=x, y=y))


class FakeSmacv2:
    """The parts of smacv2's ``StarCraft2Env`` the fixes touch, with smacv2's two bugs (a test double)."""

    n_actions_no_attack = 6
    n_actions_move = 4
    sight_range = 9.0

    def __init__(self, map_type: str, allies: list, enemies: list, unit_type_bits: int, min_unit_type: int):
        self.map_type, self.unit_type_bits, self._min_unit_type = map_type, unit_type_bits, min_unit_type
        self.agents = dict(enumerate(allies))
        self.enemies = dict(enumerate(enemies))
        self.n_agents, self.n_enemies = len(allies), len(enemies)
        self.obs_starcraft = True
        self.obs_enemies = np.zeros((self.n_enemies, self.n_agents))
        self.enemy_tags = [None] * self.n_enemies

    def get_unit_type_id(self, unit, ally):  # smacv2: no ``else``, the table runs for allies too
        type_id = unit.unit_type - self._min_unit_type if ally else None
        if self.map_type == "stalkers_and_zealots":
            type_id = unit.unit_type - 73
        elif self.map_type == "colossi_stalkers_zealots":
            type_id = 0 if unit.unit_type == 4 else 1 if unit.unit_type == 74 else 2
        elif self.map_type == "MMM":
            type_id = 0 if unit.unit_type == 51 else 1 if unit.unit_type == 48 else 2
        return type_id

    def get_obs_move_feats_size(self) -> int:
        return self.n_actions_move

    def get_obs_enemy_feats_size(self) -> tuple[int, int]:
        return self.n_enemies, 5 + self.unit_type_bits  # available, distance, dx, dy, health, type bits

    def step_kill(self, e_id: int) -> None:
        """What smacv2's ``step`` does when enemy ``e_id`` dies."""
        self.enemies[e_id].health = 0.0
        self.enemy_tags[e_id] = None
        self.obs_enemies[e_id, :] = 0

    def get_obs_agent(self, agent_id, fully_observable=False):
        me = self.agents[agent_id]
        move = np.ones(self.n_actions_move, dtype=np.float32)
        enemy_feats = np.zeros(self.get_obs_enemy_feats_size(), dtype=np.float32)
        for e_id, e in self.enemies.items():
            dist = float(np.hypot(e.pos.x - me.pos.x, e.pos.y - me.pos.y))
            visible = dist < self.sight_range
            if visible and self.enemy_tags[e_id] is None:
                self.obs_enemies[e_id, agent_id] = 1
                self.enemy_tags[e_id] = agent_id
                for a_id in range(self.n_agents):
                    if a_id != agent_id and np.random.rand() < 1.0:
                        self.obs_enemies[e_id, a_id] = 1
            if self.obs_enemies[e_id, agent_id] == 0:
                visible = False
            if visible and e.health > 0:
                enemy_feats[e_id, :5] = (1.0, dist / 9, (e.pos.x - me.pos.x) / 9, (e.pos.y - me.pos.y) / 9, 1.0)
                enemy_feats[e_id, 5 + self.get_unit_type_id(e, False)] = 1.0
            if self.obs_enemies[e_id, agent_id] == 0:
                enemy_feats = np.zeros(self.get_obs_enemy_feats_size(), dtype=np.float32)  # smacv2's wipe
        own = np.zeros(self.unit_type_bits, dtype=np.float32)
        own[self.get_unit_type_id(me, True)] = 1.0
        return np.concatenate([move, enemy_feats.ravel(), own])


def _game(map_name: str, cls=FakeSmacv2):
    map_type, bits, enemy_ids = CLASSIC[map_name]
    allies = [unit(CUSTOM + i, x=float(i)) for i in range(bits)]
    enemies = [unit(t, x=3.0 + i) for i, t in enumerate(enemy_ids)]
    return cls(map_type, allies, enemies, bits, CUSTOM)


@pytest.mark.parametrize("map_name", sorted(CLASSIC))
def test_ally_type_ids_are_v1s_and_distinct(map_name):
    map_type, bits, enemy_ids = CLASSIC[map_name]
    ally_ids = [classic_unit_type_id(map_type, CUSTOM + i, True, CUSTOM) for i in range(bits)]
    assert ally_ids == list(range(bits))  # v1: custom type - smallest custom type, one bit per unit type
    for sc2_type, v1_id in enemy_ids.items():
        assert classic_unit_type_id(map_type, sc2_type, False, CUSTOM) == v1_id


@pytest.mark.parametrize("map_name", sorted(CLASSIC))
def test_subclass_restores_v1_ids_where_smacv2_overwrites_them(map_name):
    buggy, fixed = _game(map_name), _game(map_name, classic_env_class(FakeSmacv2))
    ally_ids = [fixed.get_unit_type_id(u, True) for u in fixed.agents.values()]
    assert ally_ids == list(range(fixed.unit_type_bits))
    smacv2_ids = [buggy.get_unit_type_id(u, True) for u in buggy.agents.values()]
    assert smacv2_ids != ally_ids  # the bug being fixed: 2s3z ~1900, MMM / 1c3s5z all 2
    for e in fixed.enemies.values():
        assert fixed.get_unit_type_id(e, False) == buggy.get_unit_type_id(e, False)
    for agent_id in fixed.agents:  # the own-type bits of each ally are its own
        own = fixed.get_obs_agent(agent_id)[-fixed.unit_type_bits :]
        assert own.tolist() == np.eye(fixed.unit_type_bits)[agent_id].tolist()
    if map_name == "2s3z":
        with pytest.raises(IndexError):
            buggy.get_obs_agent(0)


def test_generated_maps_keep_smacv2_ids():
    class Gen(FakeSmacv2):
        def get_unit_type_id(self, unit, ally):
            return 7

    env = classic_env_class(Gen)("protoss_gen", [unit(CUSTOM)], [unit(STALKER)], 3, CUSTOM)
    assert env.get_unit_type_id(unit(CUSTOM), True) == 7


def test_mask_enemy_rows_zeroes_only_unobservable_rows():
    feats = np.arange(12, dtype=np.float32).reshape(3, 4) + 1
    out = mask_enemy_rows(feats, np.array([True, False, True]))
    assert out[1].tolist() == [0.0] * 4 and np.array_equal(out[[0, 2]], feats[[0, 2]])
    assert feats[1].sum() > 0  # input left unchanged


def test_enemy_death_leaves_the_other_enemies_features():
    np.random.seed(0)
    fixed = _game("MMM", classic_env_class(FakeSmacv2))
    n_enemies, n_feats = fixed.get_obs_enemy_feats_size()

    def enemy_block(env, agent_id=0):
        return env.get_obs_agent(agent_id)[4 : 4 + n_enemies * n_feats].reshape(n_enemies, n_feats)

    before = enemy_block(fixed)
    assert (before.sum(-1) > 0).all()  # every enemy is in sight
    fixed.enemies[2].pos.x = 50.0  # the last enemy runs out of agent 0's sight and dies there:
    fixed.step_kill(2)  # smacv2 then blanks enemies 0 and 1 for agent 0 as well
    after = enemy_block(fixed)
    assert after[2].tolist() == [0.0] * n_feats
    np.testing.assert_array_equal(after[:2], before[:2])
    assert isinstance(fixed.obs_enemies, np.ndarray)  # the real flags are back after each observation
    assert fixed.obs_enemies[:2, 0].tolist() == [1.0, 1.0]

    buggy = _game("MMM")
    enemy_block(buggy)
    buggy.enemies[2].pos.x = 50.0
    buggy.step_kill(2)
    assert enemy_block(buggy).sum() == 0  # smacv2's behaviour, for contrast


def test_unobservable_enemy_row_is_blank_but_visible_ones_stay():
    fixed = _game("1c3s5z", classic_env_class(FakeSmacv2))
    fixed.enemies[1].pos.x = 100.0  # out of sight of every ally: never tagged, flags stay 0
    n_enemies, n_feats = fixed.get_obs_enemy_feats_size()
    block = fixed.get_obs_agent(0)[4 : 4 + n_enemies * n_feats].reshape(n_enemies, n_feats)
    assert block[1].sum() == 0 and block[0].sum() > 0 and block[2].sum() > 0
    buggy = _game("1c3s5z")
    buggy.enemies[1].pos.x = 100.0
    assert buggy.get_obs_agent(0)[4 : 4 + 2 * n_feats].sum() == 0  # smacv2 also blanks enemy 0 here


def test_classic_env_class_without_smacv2_raises_import_error():
    if importlib.util.find_spec("smacv2") is not None:
        pytest.skip("smacv2 is installed here, so the error for its absence cannot be produced")
    with pytest.raises(ImportError):
        classic_env_class()
