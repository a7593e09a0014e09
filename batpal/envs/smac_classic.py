"""SMAC v1 semantics for the classic maps, played on smacv2's ``StarCraft2Env``.

smacv2 (at 577ab5a) changed two things on the classic maps that SMAC v1 (d6aab33) and the BATPAL authors' env
do not have:

* ``get_unit_type_id``: v1 gives an ally the id ``unit_type - min_unit_type`` (the map's custom ally types are
  consecutive) and uses the map-type table only ``else`` (for enemies). smacv2 dropped that ``else``, so the
  table overwrites the allies' id too: on ``stalkers_and_zealots`` (2s3z) an ally's custom type minus 73 is far
  outside the type bits (IndexError on the first reset), on ``MMM`` and ``colossi_stalkers_zealots`` (1c3s5z)
  every ally reads type 2. :func:`classic_unit_type_id` is v1's rule.
* ``get_obs_agent``: when ``obs_enemies[e, agent] == 0`` smacv2 replaces the *whole* enemy block built so far
  with zeros. The flag is 0 for an enemy nobody has seen yet, and ``step`` clears it for every dead enemy, so
  an enemy out of the agent's sight that is unseen or dead wipes every enemy listed before it. Only enemy
  ``e``'s row should be blank (:func:`mask_enemy_rows`); with smacv2's default ``prob_obs_enemy=1.0`` that
  is exactly v1's "visible and alive" rule.

:func:`classic_env_class` builds a subclass of smacv2's ``StarCraft2Env`` (imported lazily) with both fixes;
the procedurally generated ``10gen_*`` maps keep smacv2's own type ids.
"""

from __future__ import annotations

import functools

import numpy as np

# map types whose allies use smacv2's generated-unit ids (left to smacv2)
GENERATED_MAP_TYPES = frozenset({"protoss_gen", "terran_gen", "zerg_gen"})

# SC2 unit type ids of the enemies (default SC2 types), as v1 numbers them per map type
_ENEMY_TYPE_ORDER: dict[str, tuple[int, ...]] = {
    "stalkers_and_zealots": (73, 74),  # zealot, stalker: v1 computes ``unit_type - 73``
    "colossi_stalkers_zealots": (4, 74, 73),  # colossus, stalker, zealot (anything else: last)
    "bane": (9, 105),  # baneling, zergling (anything else: last)
    "MMM": (51, 48, 54),  # marauder, marine, medivac (anything else: last)
}


def classic_unit_type_id(map_type: str, unit_type: int, ally: bool, min_unit_type: int) -> int:
    """SMAC v1's unit-type id of a unit on a classic map.

    Allies: ``unit_type - min_unit_type`` (the map's custom ally unit types, numbered from the smallest one).
    Enemies: v1's per-map-type table (e.g. MMM: marauder 0, marine 1, medivac 2). Raises ``ValueError`` for an
    enemy on a map type without type bits (v1 never asks there).
    """
    if ally:
        return int(unit_type) - int(min_unit_type)
    if map_type == "stalkers_and_zealots":
        return int(unit_type) - 73
    order = _ENEMY_TYPE_ORDER.get(map_type)
    if order is None:
        raise ValueError(f"map type {map_type!r} has no enemy unit-type table in SMAC v1")
    for i, known in enumerate(order[:-1]):
        if unit_type == known:
            return i
    return len(order) - 1


def mask_enemy_rows(enemy_feats: np.ndarray, observable: np.ndarray) -> np.ndarray:
    """Zero the rows of ``enemy_feats`` ``[E, F]`` whose enemy is not ``observable`` ``[E]``; keep the others."""
    feats = np.array(enemy_feats, copy=True)
    feats[~np.asarray(observable, dtype=bool)] = 0.0
    return feats


class _WritesThroughReadsSeen:
    """Stands in for ``obs_enemies`` during smacv2's ``get_obs_agent``: writes reach the real array, reads say 1.

    smacv2 reads ``obs_enemies[e, agent]`` only to hide enemy ``e`` (and, wrongly, the whole block); with reads
    answering 1 it fills every visible living enemy, and the real flags mask the rows afterwards.
    """

    def __init__(self, real: np.ndarray) -> None:
        self.real = real

    def __getitem__(self, index) -> float:
        return 1.0

    def __setitem__(self, index, value) -> None:
        self.real[index] = value


def classic_obs_agent(env, agent_id: int, fully_observable: bool = False, *, parent_get_obs_agent) -> np.ndarray:
    """smacv2's observation of ``agent_id`` with per-enemy masking (``parent_get_obs_agent`` is smacv2's method)."""
    real = env.obs_enemies
    env.obs_enemies = _WritesThroughReadsSeen(real)
    try:
        obs = np.array(parent_get_obs_agent(agent_id, fully_observable), copy=True)
    finally:
        env.obs_enemies = real
    if getattr(env, "obs_starcraft", True):
        n_enemies, n_feats = env.get_obs_enemy_feats_size()
        start = int(np.prod(env.get_obs_move_feats_size()))
        block = obs[start : start + n_enemies * n_feats].reshape(n_enemies, n_feats)
        observable = np.asarray(real)[:, agent_id] != 0  # [E]
        obs[start : start + n_enemies * n_feats] = mask_enemy_rows(block, observable).ravel()
    return obs


def _classic_subclass(base: type) -> type:
    class ClassicStarCraft2Env(base):
        """smacv2's ``StarCraft2Env`` with SMAC v1's ally type ids and per-enemy masking (see module doc)."""

        def get_unit_type_id(self, unit, ally):
            if self.map_type in GENERATED_MAP_TYPES:
                return super().get_unit_type_id(unit, ally)
            return classic_unit_type_id(self.map_type, unit.unit_type, ally, self._min_unit_type)

        def get_obs_agent(self, agent_id, fully_observable=False):
            parent = super().get_obs_agent
            return classic_obs_agent(self, agent_id, fully_observable, parent_get_obs_agent=parent)

    ClassicStarCraft2Env.__qualname__ = f"Classic{base.__name__}"
    return ClassicStarCraft2Env


@functools.cache
def classic_env_class(base: type | None = None) -> type:
    """A subclass of ``base`` (default: smacv2's ``StarCraft2Env``, imported here) with SMAC v1's semantics."""
    if base is None:
        from smacv2.env import StarCraft2Env as base
    return _classic_subclass(base)
