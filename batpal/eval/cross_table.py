"""The cross table of Figure 2: every attack (rows) against every defender (columns), one cell per pair."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from batpal.atomic import atomic_write
from batpal.attacks.base import Attack
from batpal.envs.registry import check_env_name
from batpal.eval.attacked import evaluate_attack
from batpal.eval.defenders import Defender
from batpal.eval.episodes import EvalResult


@dataclass
class Cell:
    """One (attack, defender) pair: means over all victims' episodes and their standard errors."""

    attack: str
    defender: str
    episodes: int
    return_mean: float
    return_se: float
    return_normalized: float | None  # (R - lo) / (hi - lo) with the paper's bounds; None on SMAC
    return_normalized_se: float | None
    win_rate: float | None  # SMAC only
    win_rate_se: float | None
    seconds: float

    @property
    def value(self) -> float:
        """The paper's headline figure: normalised return, or win rate where the env has no bounds (SMAC)."""
        value = self.return_normalized if self.return_normalized is not None else self.win_rate
        return float("nan") if value is None else value


def make_cell(attack: str, defender: str, env_name: str, result: EvalResult, seconds: float) -> Cell:
    """Summarise one evaluation; the normalised return's SE is the raw SE over the bounds' span."""
    s = result.summary()
    bounds = check_env_name(env_name).return_bounds
    span = None if bounds is None else bounds[1] - bounds[0]
    win_se = None
    if result.wins is not None and result.wins.numel() > 1:
        win_se = float(result.wins.std() / math.sqrt(result.wins.numel()))
    return Cell(
        attack=attack,
        defender=defender,
        episodes=int(s["episodes"]),
        return_mean=s["return_mean"],
        return_se=s["return_se"],
        return_normalized=None if span is None else (s["return_mean"] - bounds[0]) / span,
        return_normalized_se=None if span is None else s["return_se"] / span,
        win_rate=s.get("win_rate"),
        win_rate_se=win_se,
        seconds=round(seconds, 3),
    )


def cross_evaluate(
    defenders: Sequence[Defender],
    attacks: Sequence[Attack],
    episodes: int,
    *,
    seed: int,
    num_envs: int,
    progress: Callable[[Cell], None] | None = None,
) -> list[Cell]:
    """Every attack on every victim of every defender, ``episodes`` episodes per victim; one batched env of at most
    ``num_envs`` envs per cell."""
    cells = []
    for attack in attacks:
        for defender in defenders:
            start = time.perf_counter()
            try:
                result = evaluate_attack(defender, attack, episodes, seed=seed, num_envs=num_envs)
            except Exception as err:
                err.add_note(f"(while playing attack {attack.label!r} against defender {defender.name!r})")
                raise
            cell = make_cell(attack.label, defender.name, defender.env_name, result, time.perf_counter() - start)
            cells.append(cell)
            if progress is not None:
                progress(cell)
    return cells


def write_csv(cells: Sequence[Cell], path: str | Path) -> None:
    """One row per (attack, defender), in evaluation order (attacks, then defenders); written atomically: a kill
    never leaves half a table."""
    fields = list(asdict(cells[0])) if cells else [f for f in Cell.__dataclass_fields__]
    with atomic_write(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for cell in cells:
            writer.writerow({k: ("" if v is None else v) for k, v in asdict(cell).items()})


def matrix(cells: Sequence[Cell]) -> tuple[list[str], list[str], list[list[float]]]:
    """(attack rows, defender columns, values[row][column]) of the headline figure, in first-seen order."""
    rows = list(dict.fromkeys(c.attack for c in cells))
    cols = list(dict.fromkeys(c.defender for c in cells))
    lookup = {(c.attack, c.defender): c.value for c in cells}
    return rows, cols, [[lookup.get((r, c), float("nan")) for c in cols] for r in rows]
