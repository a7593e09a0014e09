"""``python -m batpal.evaluate``: every attack against every defender -> cross table (CSV + heatmap) and curves.

Writes to its run directory ``cross_table.csv`` (one row per attack x defender), ``cross_table.png`` (Figure 2's
heatmap), ``learning_curves.png``, ``config.yaml`` and ``summary.json`` (with the wall time). Every input is
checked (defender checkpoints, attack names and files, one env and one victim count for all) before any episode
is played. With ``victims = m > 1`` every episode hands a victim set of m agents to the attack (each on its own
observation) and each cell averages over all C(N, m) sets, ``episodes`` per set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from batpal.attacks import make_attack
from batpal.attacks.base import Attack
from batpal.defenders import Defender, load_defender
from batpal.eval.cross_table import cross_evaluate, format_table, matrix, write_csv
from batpal.eval.heatmap import plot_cross_table
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
    attacks = _unique_labels([make_attack(spec, defenders) for spec in specs])
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


def parse_defenders(spec: Any) -> list[tuple[str | None, Path]]:
    """(label or None, run dir) from a list of ``dir`` / ``label=dir`` strings or a mapping label -> dir."""
    if isinstance(spec, Mapping | DictConfig):
        return [(str(label), Path(str(d))) for label, d in spec.items()]
    if spec is None:
        spec = []
    elif isinstance(spec, str):
        spec = [spec]
    out: list[tuple[str | None, Path]] = []
    for item in spec:
        label, sep, path = str(item).partition("=")
        out.append((label, Path(path)) if sep and label and path else (None, Path(str(item))))
    if not out:
        raise ValueError("no defenders given: defenders=[<run dir>,...] (run directories of batpal.fit).")
    return out


def load_defenders(specs: Sequence[tuple[str | None, Path]], severity: int = 1) -> list[Defender]:
    """Every defender loaded (a missing directory or checkpoint fails here); repeated labels made unique."""
    defenders = [load_defender(path, label, severity) for label, path in specs]
    seen: dict[str, int] = {}
    for d in defenders:
        if d.name in seen:
            seen[d.name] += 1
            d.name = f"{d.name} ({d.run_dir.name})" if seen[d.name] == 1 else f"{d.name} #{seen[d.name] + 1}"
            while d.name in seen:
                d.name += "'"
        seen.setdefault(d.name, 0)
    return defenders


def check_same_env(defenders: Sequence[Defender], env_name: str | None = None) -> None:
    """All defenders trained on one env (name, kwargs, sizes, episode length), the experiment's if given."""
    first = defenders[0]
    for d in defenders[1:]:
        mine = (d.env_name, d.env_kwargs, d.dims, d.max_episode_steps)
        theirs = (first.env_name, first.env_kwargs, first.dims, first.max_episode_steps)
        if mine != theirs:
            raise ValueError(
                f"defenders play different envs: {first.name} ({first.run_dir}) {theirs} vs {d.name} ({d.run_dir}) "
                f"{mine} as (env, kwargs, sizes, episode steps)."
            )
    if env_name is not None and env_name != first.env_name:
        raise ValueError(
            f"the experiment plays {env_name!r} but the defenders were trained on {first.env_name!r}: "
            f"pass experiment=<the defenders' experiment>."
        )


def set_victims(defenders: Sequence[Defender], victims: int | None = None) -> int:
    """The number m of simultaneous victims, given to every defender: ``victims``, else the defenders' common
    ``game.victims``; a BATPAL-family defender only takes its own m, and defenders of different m need ``victims``
    (MAPPO teams take any m)."""
    if victims is None:
        counts = {d.name: d.victims for d in defenders}
        if len(set(counts.values())) > 1:
            raise ValueError(
                f"defenders were trained with different game.victims: {counts}; evaluate them separately or pass "
                "victims=<m> (a BATPAL-family defender only takes its own m, MAPPO any)."
            )
        victims = defenders[0].victims
    victims = int(victims)
    if victims < 1:
        raise ValueError(f"victims must be >= 1 (agents attacked at once), got {victims}.")
    for d in defenders:
        d.set_victims(victims)
    return victims


def _unique_labels(attacks: list[Attack]) -> list[Attack]:
    """Repeated attack labels (two runs' ACT) numbered so that every row of the table is its own."""
    counts: dict[str, int] = {}
    for attack in attacks:
        counts[attack.label] = counts.get(attack.label, 0) + 1
        if counts[attack.label] > 1:
            attack.label = f"{attack.label} #{counts[attack.label]}"
    return attacks


@hydra.main(version_base="1.3", config_path="../configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
