"""One evaluation run: every attack against every defender -> cross table (CSV + heatmap) and learning curves.

Writes to its run directory ``cross_table.csv`` (one row per attack x defender), the same cells in marl-eval's
JSON layout (``marl_eval.json``, ``batpal.eval.marl_eval``), ``cross_table.png`` (Figure 2's heatmap),
``learning_curves.png``, ``config.yaml`` and ``summary.json`` (with the wall time). Every input is
checked (the output directory, defender runs finished, attack names and files, one env and one victim count for
all) before any episode is played. With ``victims = m > 1`` every episode hands a victim set of m agents to the
attack (each on its own observation) and each cell averages over all C(N, m) sets, ``episodes`` per set.

The run directory must be fresh: one that already holds ``cross_table.csv`` or ``summary.json`` is refused unless
``overwrite=true`` (which first removes the old evaluation's files), and a training run directory is always
refused. The table and summary are rewritten (atomically) after every cell, with ``"complete": false`` until the
last figure is drawn; a failing cell leaves the cells already played, the failing cell and the error there.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from batpal.atomic import write_text_atomic
from batpal.attacks import make_attack
from batpal.config.settings import eval_envs
from batpal.config.validate import validate_env
from batpal.envs.registry import check_env_name
from batpal.eval.cross_table import Cell, cross_evaluate, matrix, write_csv
from batpal.eval.heatmap import plot_cross_table
from batpal.eval.inputs import check_same_env, load_defenders, parse_defenders, set_victims, unique_labels
from batpal.eval.learning_curves import plot_learning_curves, seed_groups
from batpal.eval.marl_eval import MARL_EVAL_FILE, evaluation_records, layout, write_marl_eval
from batpal.summary import Summary

log = logging.getLogger(__name__)

EVAL_OUTPUTS = ("cross_table.csv", "summary.json")  # their presence marks an earlier evaluation
EVAL_FIGURES = ("cross_table.png", "learning_curves.png")
TRAINING_FILES = ("pi0.pt", "defender.pt", "attack.pt")  # a fit or attack run: never written over


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Load and check everything, play every cell, write the artefacts; returns the summary entry."""
    start = time.perf_counter()
    validate_env(cfg.env)  # before any defender is loaded or env built: no StarCraft II beyond env.max_processes
    run_dir = Path(cfg.run_dir)
    overwrite = bool(cfg.get("overwrite", False))
    check_output_dir(run_dir, overwrite)
    if int(cfg.episodes) < 1:
        raise ValueError(f"episodes must be >= 1 (per victim), got {cfg.episodes}.")
    given = parse_defenders(cfg.defenders)
    defenders = load_defenders(given, int(cfg.severity))
    labelled = [(label, d) for (label, _), d in zip(given, defenders, strict=True)]  # a label per seed group
    check_same_env(defenders, cfg.env.name)
    victims = set_victims(defenders, cfg.get("victims"))
    specs = [cfg.attacks] if isinstance(cfg.attacks, str) else [str(spec) for spec in cfg.attacks or []]
    attacks = unique_labels([make_attack(spec, defenders) for spec in specs])
    if not attacks:
        raise ValueError("no attacks given: attacks=[none,random,...].")
    run_dir.mkdir(parents=True, exist_ok=True)
    if overwrite:
        for name in (*EVAL_OUTPUTS, *EVAL_FIGURES, MARL_EVAL_FILE):
            (run_dir / name).unlink(missing_ok=True)
    write_text_atomic(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))

    env_name = defenders[0].env_name
    metric = "normalised return" if check_env_name(env_name).return_bounds is not None else "win rate"
    pairs = [(a.label, d.name) for a in attacks for d in defenders]  # cross_evaluate's order
    cells: list[Cell] = []
    summary = Summary(run_dir / "summary.json")

    def figures(**status: Any) -> dict[str, Any]:
        rows, cols, values = matrix(cells)
        return {
            "wall_s": round(time.perf_counter() - start, 2),
            "env": env_name,
            "metric": metric,
            "episodes_per_victim": int(cfg.episodes),
            "victims": victims,
            "defenders": {d.name: str(d.run_dir) for d in defenders},
            "attacks": {a.label: spec for a, spec in zip(attacks, specs, strict=True)},
            "table": {r: dict(zip(cols, row, strict=True)) for r, row in zip(rows, values, strict=True)},
            "cells_played": len(cells),
            "cells_total": len(pairs),
            **status,
        }

    def progress(cell: Cell) -> None:
        log.info(
            "%s vs %s: %.3f (%d episodes, %.1f s)", cell.attack, cell.defender, cell.value, cell.episodes, cell.seconds
        )
        cells.append(cell)
        write_csv(cells, run_dir / "cross_table.csv")  # the partial table survives a later failure or a kill
        write_marl_eval(layout(env_name, evaluation_records(cells, labelled)), run_dir / MARL_EVAL_FILE)  # same cells
        summary.write_stage("evaluate", figures(complete=False))

    try:
        cross_evaluate(
            defenders, attacks, int(cfg.episodes), seed=int(cfg.seed), num_envs=eval_envs(cfg), progress=progress
        )
        plot_cross_table(cells, run_dir / "cross_table.png", f"{env_name}: {metric}", metric)
        plot_learning_curves(seed_groups(labelled), run_dir / "learning_curves.png")
    except BaseException as err:
        status = failure(cells, pairs, err)
        try:  # the partial table and an incomplete summary naming the failing cell; never masks the error
            write_csv(cells, run_dir / "cross_table.csv")
            summary.write_stage("evaluate", figures(**status))
        except Exception:
            log.exception("could not write the partial evaluation to %s", run_dir)
        cell = status["failed_cell"]
        log.error(
            "evaluation failed at %s (%d of %d cells played, kept in %s): %s",
            "the figures" if cell is None else f"attack {cell['attack']!r} vs defender {cell['defender']!r}",
            len(cells),
            len(pairs),
            run_dir / "cross_table.csv",
            status["error"],
        )
        raise
    done = figures(complete=True)
    summary.write_stage("evaluate", done)
    return done


def check_output_dir(run_dir: Path, overwrite: bool = False) -> None:
    """A fresh output directory: never a training run's, and no earlier evaluation's files unless ``overwrite``."""
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise NotADirectoryError(f"run_dir {run_dir} is a file; evaluate writes its outputs into a directory.")
    training = [name for name in TRAINING_FILES if (run_dir / name).exists()]
    if training:
        raise FileExistsError(
            f"run_dir {run_dir} is a training run directory (it holds {', '.join(training)}); evaluate would "
            "replace its config.yaml and summary.json. Pass run_dir=<a new directory> (the default is a fresh one)."
        )
    found = [name for name in EVAL_OUTPUTS if (run_dir / name).exists()]
    if found and not overwrite:
        raise FileExistsError(
            f"run_dir {run_dir} already holds evaluation outputs ({', '.join(found)}); evaluate writes into a fresh "
            "directory. Pass another run_dir, or overwrite=true to replace them."
        )


def failure(cells: list[Cell], pairs: list[tuple[str, str]], err: BaseException) -> dict[str, Any]:
    """The summary's status after ``err``: incomplete, the cell being played (None: after the last), the error."""
    failed = pairs[len(cells)] if len(cells) < len(pairs) else None
    return {
        "complete": False,
        "failed_cell": None if failed is None else {"attack": failed[0], "defender": failed[1]},
        "error": f"{type(err).__name__}: {err}",
    }
