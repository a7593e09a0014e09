"""Results in marl-eval's JSON layout (instadeepai/marl-eval, ``pip install id-marl-eval``), so batpal's tables sit
beside other libraries' in its aggregation and plots:

    {env: {task: {algorithm: {run: {"step_0": {"step_count": frames, metric: [value], ...}, ...,
                                    "absolute_metrics": {metric: [value], ...}}}}}}

Here a task is an attack (a row of the cross table), an algorithm a defender (its label, shared by its seeds) and a
run one training seed (``seed_<k>``). A run's steps are its evaluations in frame order; ``absolute_metrics`` repeats
the last one (batpal has no separate best-policy evaluation). Every metric is a one-element list, the figure of
the CSV (mean over all episodes and victims): ``return``, ``return_normalized`` (the paper's bounds) and, on
SMAC, ``win_rate``. Env and task names are lower-case, as marl-eval looks them up; with its min-max
normalisation, pass ``metrics_to_normalize=["return"]`` (``return_normalized`` is already on [0, 1]).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from batpal.atomic import write_text_atomic
from batpal.eval.cross_table import Cell
from batpal.eval.defenders import Defender

MARL_EVAL_FILE = "marl_eval.json"
TRAINING_STAGES = ("pretrain", "calibrate", "adversarial")  # their frames add up to the defender's step_count


@dataclass(frozen=True)
class Record:
    """One evaluation of one run of an algorithm on one task, at ``step_count`` env frames."""

    task: str
    algorithm: str
    run: str
    step_count: int
    metrics: Mapping[str, float]


def layout(env: str, records: Iterable[Record]) -> dict[str, Any]:
    """marl-eval's nesting of ``records``; each run's steps ``step_0``.. in frame order, then ``absolute_metrics``."""
    runs: dict[tuple[str, str, str], list[Record]] = {}
    for record in records:
        runs.setdefault((record.task.lower(), record.algorithm, record.run), []).append(record)
    tasks: dict[str, Any] = {}
    for (task, algorithm, run), found in runs.items():
        ordered = sorted(found, key=lambda r: r.step_count)
        steps: dict[str, Any] = {
            f"step_{i}": {"step_count": int(r.step_count), **_lists(r.metrics)} for i, r in enumerate(ordered)
        }
        steps["absolute_metrics"] = _lists(ordered[-1].metrics)
        tasks.setdefault(task, {}).setdefault(algorithm, {})[run] = steps
    return {env.lower(): tasks}


def cell_metrics(cell: Cell) -> dict[str, float]:
    """A cross-table cell's figures as marl-eval metrics (those the env has)."""
    figures = {"return": cell.return_mean, "return_normalized": cell.return_normalized, "win_rate": cell.win_rate}
    return {name: float(value) for name, value in figures.items() if value is not None}


def defender_run(run_dir: Path) -> tuple[int, int]:
    """(training seed, env frames of every training stage together) of a finished ``batpal.fit`` run."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    frames = sum(int(summary.get(stage, {}).get("frames", 0)) for stage in TRAINING_STAGES)
    return int(cfg.get("seed", 0)), frames


def evaluation_records(cells: Sequence[Cell], defenders: Sequence[tuple[str | None, Defender]]) -> list[Record]:
    """``batpal.evaluate``'s cells as records: a defender's algorithm is the label it was given (else its column's
    name), so runs given one label (``defenders=[BATPAL=<seed 0>,BATPAL=<seed 1>]``) are runs of one algorithm."""
    runs: dict[str, tuple[str, str, int]] = {}
    taken: set[tuple[str, str]] = set()
    for given, defender in defenders:
        algorithm = given or defender.name
        seed, frames = defender_run(defender.run_dir)
        run = f"seed_{seed}"
        if (algorithm, run) in taken:  # the same seed twice under one label: told apart by the run dir
            run = f"{run}_{defender.run_dir.name}"
        taken.add((algorithm, run))
        runs[defender.name] = (algorithm, run, frames)
    return [Record(cell.attack, runs[cell.defender][0], runs[cell.defender][1], runs[cell.defender][2],
                   cell_metrics(cell)) for cell in cells]


def write_marl_eval(data: Mapping[str, Any], path: str | Path) -> Path:
    """The layout as indented JSON, written atomically."""
    write_text_atomic(Path(path), json.dumps(data, indent=2) + "\n")
    return Path(path)


def _lists(metrics: Mapping[str, float]) -> dict[str, list[float]]:
    return {name: [float(value)] for name, value in metrics.items()}
