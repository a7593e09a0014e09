"""One evaluation run: every attack against every defender -> cross table (CSV + heatmap) and learning curves.

Writes to its run directory ``cross_table.csv`` (one row per attack x defender), ``cross_table.png`` (Figure 2's
heatmap), ``learning_curves.png``, ``config.yaml`` and ``summary.json`` (with the wall time). Every input is
checked (defender checkpoints, attack names and files, one env and one victim count for all) before any episode
is played. With ``victims = m > 1`` every episode hands a victim set of m agents to the attack (each on its own
observation) and each cell averages over all C(N, m) sets, ``episodes`` per set.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from batpal.attacks import make_attack
from batpal.eval.cross_table import cross_evaluate, format_table, matrix, write_csv
from batpal.eval.heatmap import plot_cross_table
from batpal.eval.inputs import check_same_env, load_defenders, parse_defenders, set_victims, unique_labels
from batpal.eval.learning_curves import plot_learning_curves
from batpal.summary import Summary

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Load and check everything, play every cell, write the artefacts; returns the summary entry."""
    start = time.perf_counter()
    if int(cfg.episodes) < 1:
        raise ValueError(f"episodes must be >= 1 (per victim), got {cfg.episodes}.")
    defenders = load_defenders(parse_defenders(cfg.defenders), int(cfg.severity))
    check_same_env(defenders, cfg.env.name)
    victims = set_victims(defenders, cfg.get("victims"))
    specs = [cfg.attacks] if isinstance(cfg.attacks, str) else [str(spec) for spec in cfg.attacks or []]
    attacks = unique_labels([make_attack(spec, defenders) for spec in specs])
    if not attacks:
        raise ValueError("no attacks given: attacks=[none,random,...].")
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)

    def progress(cell: Any) -> None:
        log.info(
            "%s vs %s: %.3f (%d episodes, %.1f s)", cell.attack, cell.defender, cell.value, cell.episodes, cell.seconds
        )

    cells = cross_evaluate(
        defenders, attacks, int(cfg.episodes), seed=int(cfg.seed), max_envs=int(cfg.max_envs), progress=progress
    )
    write_csv(cells, run_dir / "cross_table.csv")
    bounded = cells[0].return_normalized is not None
    metric = "normalised return" if bounded else "win rate"
    plot_cross_table(cells, run_dir / "cross_table.png", f"{defenders[0].env_name}: {metric}", metric)
    plot_learning_curves([(d.name, d.run_dir) for d in defenders], run_dir / "learning_curves.png")
    log.info("cross table (%s):\n%s", metric, format_table(cells))
    rows, cols, values = matrix(cells)
    figures = {
        "wall_s": round(time.perf_counter() - start, 2),
        "env": defenders[0].env_name,
        "metric": metric,
        "episodes_per_victim": int(cfg.episodes),
        "victims": victims,
        "defenders": {d.name: str(d.run_dir) for d in defenders},
        "attacks": {a.label: spec for a, spec in zip(attacks, specs, strict=True)},
        "table": {r: dict(zip(cols, row, strict=True)) for r, row in zip(rows, values, strict=True)},
    }
    Summary(run_dir / "summary.json").write_stage("evaluate", figures)
    return figures
