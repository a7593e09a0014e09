"""The jobs of a Hydra sweep of ``batpal.fit`` and each job's headline figures (from ``summary.json``).

A job is a folder holding ``config.yaml`` and a ``summary.json`` with an ``adversarial`` entry. Its figures:
the defender without attack, and for each of its psi_k (the paper's "Severity k") the measured severity eta,
the defender's and pi0's figure under it; plus every attack of any ``cross_table.csv`` of ``batpal.evaluate``
found inside the job's folder. A figure is the paper's: normalised return, or win rate on SMAC.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

CROSS_TABLE = "cross_table.csv"


@dataclass
class Job:
    """One finished run of the sweep: its folder, resolved config and figures (row label -> value)."""

    run_dir: Path
    config: DictConfig
    figures: dict[str, float] = field(default_factory=dict)
    metric: str = "normalised return"


def find_jobs(sweep_dir: str | Path) -> tuple[list[Job], list[Path]]:
    """(finished jobs, folders with a config but no finished adversarial stage), each sorted by path."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep directory {sweep_dir} does not exist.")
    jobs, unfinished = [], []
    for config in sorted(sweep_dir.rglob("config.yaml")):
        run_dir = config.parent
        if any(part.startswith(".") for part in run_dir.relative_to(sweep_dir).parts):
            continue  # Hydra's own .hydra/config.yaml
        summary = _read_json(run_dir / "summary.json")
        if "evaluate" in summary and "pretrain" not in summary:
            continue  # a batpal.evaluate run: its cross table belongs to the job around it
        if "adversarial" not in summary:
            unfinished.append(run_dir)
            continue
        job = Job(run_dir, OmegaConf.load(config))
        job.figures, job.metric = summary_figures(summary["adversarial"])
        for label, value in cross_table_figures(run_dir).items():
            if label in job.figures:
                raise ValueError(f"{run_dir}: two figures named {label!r} (its summary and a {CROSS_TABLE}).")
            job.figures[label] = value
        jobs.append(job)
    return jobs, unfinished


def summary_figures(adversarial: dict[str, Any]) -> tuple[dict[str, float], str]:
    """The adversarial stage's figures by row label, and the metric's name."""
    metric = "normalised return" if adversarial["no_attack"].get("return_normalized") is not None else "win rate"
    out = {"No attack": figure(adversarial["no_attack"])}
    for k in range(1, int(adversarial["K"]) + 1):
        psi = adversarial[f"psi_{k}"]
        out[f"Severity {k}: eta"] = float(psi["severity"])
        out[f"Severity {k}: defender"] = figure(psi["defender"])
        out[f"Severity {k}: pi0"] = figure(psi["pi0"])
    return out, metric


def figure(entry: dict[str, Any]) -> float:
    """The paper's figure of one evaluation: normalised return, else win rate (SMAC), else raw return."""
    for key in ("return_normalized", "win_rate", "return_mean"):
        if entry.get(key) is not None:
            return float(entry[key])
    raise KeyError(f"no return_normalized, win_rate or return_mean in {entry}.")


def cross_table_figures(run_dir: Path) -> dict[str, float]:
    """Every attack of the ``cross_table.csv`` files under ``run_dir``; labelled "attack vs defender" when a
    table holds several defenders. Rows with no figure (empty normalised return and win rate) are skipped."""
    out: dict[str, float] = {}
    for path in sorted(run_dir.rglob(CROSS_TABLE)):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        several = len({row["defender"] for row in rows}) > 1
        for row in rows:
            value = next((row[k] for k in ("return_normalized", "win_rate") if row.get(k) not in (None, "")), None)
            if value is None or math.isnan(float(value)):
                continue
            label = f"{row['attack']} vs {row['defender']}" if several else row["attack"]
            if label in out:
                raise ValueError(f"{run_dir}: {label!r} appears in more than one row of its cross tables.")
            out[label] = float(value)
    return out


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}
