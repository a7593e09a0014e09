"""Checks of a reproduction's own settings, before anything is composed or run; each error names its key."""

from __future__ import annotations

import math
from collections.abc import Sequence

from omegaconf import DictConfig

from batpal.attacks.trained import KINDS
from batpal.reproduce.layout import ATTACKS_AGAINST, FIGURE2_METHODS, KT_MODES, TABLES


def validate_reproduce(cfg: DictConfig, command: Sequence[str] = ()) -> None:
    """Seeds, tables, scale, the attack protocol, methods, attacks and the statistics' sizes."""
    seeds = list(cfg.seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed, e.g. seeds=[0,1,2]; got [].")
    _unique("seeds", seeds)
    if any(int(s) != s or s < 0 for s in seeds):
        raise ValueError(f"seeds must be integers >= 0, got {seeds}.")
    if any(str(o).split("=", 1)[0].lstrip("+~") == "seed" for o in command):
        raise ValueError("seed=<k> is not a reproduction setting: pass the seeds as seeds=[0,1,2].")
    r = cfg.reproduce
    _subset("reproduce.tables", list(r.tables), TABLES, empty=False)
    scale = float(r.scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"reproduce.scale multiplies every budget and must be > 0, got {r.scale}.")
    if r.attacks_against not in ATTACKS_AGAINST:
        raise ValueError(f"reproduce.attacks_against must be one of {', '.join(ATTACKS_AGAINST)} (defender: the "
                         f"paper's per-defender attacks; mappo: attacks transferred from MAPPO), got "
                         f"{r.attacks_against!r}.")
    if r.kt not in KT_MODES:
        raise ValueError(f"reproduce.kt must be one of {', '.join(KT_MODES)} (joint: one KT per seed over every "
                         f"row's attack; per_row: one KT per attack row), got {r.kt!r}.")
    _subset("reproduce.methods", list(r.methods), FIGURE2_METHODS, empty=False)
    _subset("reproduce.attacks", list(r.attacks), KINDS, empty=True)
    for key, value in (("reproduce.episodes", r.episodes), ("reproduce.bootstrap_reps", r.bootstrap_reps)):
        if int(value) < 1:
            raise ValueError(f"{key} must be >= 1, got {value}.")
    if "table3" in r.tables:
        _unique("reproduce.table3_K", list(r.table3_K))
        if not r.table3_K or any(int(k) < 1 for k in r.table3_K):
            raise ValueError(f"reproduce.table3_K must list K values >= 1, got {list(r.table3_K)}.")
    if "table1" in r.tables and (not r.fixed_types_c or any(float(c) < 0 for c in r.fixed_types_c)):
        raise ValueError(f"reproduce.fixed_types_c must list detectability weights >= 0, got {list(r.fixed_types_c)}.")


def _unique(key: str, values: list) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
    if repeated:
        raise ValueError(f"{key} repeats {repeated}: each may appear once, got {values}.")


def _subset(key: str, values: list, allowed: Sequence[str], *, empty: bool) -> None:
    if not values and not empty:
        raise ValueError(f"{key} must name at least one of {', '.join(allowed)}; got [].")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"{key}: unknown {unknown}; known: {', '.join(allowed)}.")
    _unique(key, values)
