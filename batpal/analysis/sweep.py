"""A sweep's table in the shape of the paper's Table 3: rows attacks (and psi_k's severity), columns K, cells
the mean +- standard error over seeds.

``gather_sweep(sweep_dir)`` reads every job (``sweep_jobs``), checks that the jobs differ only in the seed
and the column key (``game.K``), and groups their figures; ``write_sweep_table`` writes ``sweep_table.csv``
and ``sweep_table.md``. Command line: ``scripts/gather_sweep.py <sweep dir>``.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from batpal.analysis.sweep_jobs import Job, find_jobs
from batpal.atomic import atomic_write, write_text_atomic

# Keys that may differ between the jobs of one table (besides the column key).
FREE_KEYS = ("seed", "run_dir", "ckpt_path", "stages")


@dataclass
class SweepTable:
    """Per (row, column) the values of every seed; rows in the paper's order, columns sorted."""

    by: str
    rows: list[str]
    columns: list[Any]
    values: dict[tuple[str, Any], list[float]]
    jobs: dict[Any, int]  # column -> number of jobs (seeds)
    metric: str = "normalised return"
    unfinished: list[Path] = field(default_factory=list)

    def cell(self, row: str, column: Any) -> tuple[float, float, int]:
        """(mean, standard error, n); the SE is NaN with one value, everything NaN with none."""
        values = self.values.get((row, column), [])
        n = len(values)
        if n == 0:
            return math.nan, math.nan, 0
        mean = sum(values) / n
        if n == 1:
            return mean, math.nan, 1
        var = sum((v - mean) ** 2 for v in values) / (n - 1)
        return mean, math.sqrt(var / n), n

    def to_markdown(self, digits: int = 2) -> str:
        """The table as Markdown, "mean ± se" per cell, (n=...) where a cell has fewer seeds than its column."""
        head = [f"{self.by}={c} (n={self.jobs[c]})" for c in self.columns]
        lines = [f"| attack | {' | '.join(head)} |", "|---" * (len(head) + 1) + "|"]
        for row in self.rows:
            cells = []
            for c in self.columns:
                mean, se, n = self.cell(row, c)
                text = "" if n == 0 else f"{mean:.{digits}f}" + ("" if math.isnan(se) else f" ± {se:.{digits}f}")
                cells.append(text + (f" (n={n})" if 0 < n < self.jobs[c] else ""))
            lines.append(f"| {row} | {' | '.join(cells)} |")
        note = (
            f"\nCells: mean ± standard error over seeds of the {self.metric}; Severity k = BATPAL's psi_k, "
            "its eta row = the severity it imposes on pi0 (band k: (k-1)/K to k/K)."
        )
        return "\n".join(lines) + "\n" + note + "\n"

    def write_csv(self, path: str | Path) -> None:
        """One line per row; per column its mean, standard error and n (empty where undefined)."""
        header = ["attack"] + [f"{self.by}={c} {s}" for c in self.columns for s in ("mean", "se", "n")]
        with atomic_write(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for row in self.rows:
                line: list[Any] = [row]
                for c in self.columns:
                    mean, se, n = self.cell(row, c)
                    line += ["" if math.isnan(mean) else mean, "" if math.isnan(se) else se, n]
                writer.writerow(line)


def gather_sweep(sweep_dir: str | Path, by: str = "game.K") -> SweepTable:
    """The table of every finished job under ``sweep_dir``, one column per value of config key ``by``."""
    jobs, unfinished = find_jobs(sweep_dir)
    if not jobs:
        raise FileNotFoundError(
            f"no finished job under {sweep_dir} (a folder with config.yaml and a summary.json with an adversarial "
            f"entry); {len(unfinished)} folders have a config but no finished adversarial stage."
        )
    _check_same_experiment(jobs, by)
    values: dict[tuple[str, Any], list[float]] = {}
    counts: dict[Any, int] = {}
    for job in jobs:
        column = OmegaConf.select(job.config, by)
        counts[column] = counts.get(column, 0) + 1
        for row, value in job.figures.items():
            values.setdefault((row, column), []).append(value)
    labels = list(dict.fromkeys(label for job in jobs for label in job.figures))
    return SweepTable(
        by=by,
        rows=sorted(labels, key=lambda label: _row_order(label, labels)),
        columns=sorted(counts),
        values=values,
        jobs=counts,
        metric=jobs[0].metric,
        unfinished=unfinished,
    )


def write_sweep_table(table: SweepTable, out_dir: str | Path) -> tuple[Path, Path]:
    """``sweep_table.csv`` and ``sweep_table.md`` in ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    csv_path, md_path = out_dir / "sweep_table.csv", out_dir / "sweep_table.md"
    table.write_csv(csv_path)
    write_text_atomic(md_path, table.to_markdown())
    return csv_path, md_path


def _row_order(label: str, labels: list[str]) -> tuple[int, int, int]:
    """No attack; then per psi_k its eta, defender and pi0 rows; then the cross tables' attacks as first seen."""
    if label == "No attack":
        return (0, 0, 0)
    match = re.fullmatch(r"Severity (\d+): (eta|defender|pi0)", label)
    if match:
        return (1 + ["eta", "defender", "pi0"].index(match[2]), int(match[1]), 0)
    return (4, 0, labels.index(label))


def _check_same_experiment(jobs: list[Job], by: str) -> None:
    """Seeds of one experiment: the jobs' configs may differ only in ``by``, ``FREE_KEYS`` and paths inside
    their own run dirs (the loggers' folders)."""
    flat = [_flatten(OmegaConf.to_container(job.config, resolve=False), str(job.run_dir)) for job in jobs]
    free = {*FREE_KEYS, by}
    keys = set().union(*flat)
    differ = sorted(k for k in keys if k not in free and len({repr(f.get(k)) for f in flat}) > 1)
    if differ:
        example = {k: sorted({repr(f.get(k))[:60] for f in flat}) for k in differ[:5]}
        raise ValueError(
            f"the jobs differ in more than the seed and {by}: {example}; gather each setting's sweep apart, or "
            "pass by=<the key> to make it the column."
        )


def _flatten(node: Any, run_dir: str, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> leaf value, with the job's own run dir written as ``<run_dir>``."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, run_dir, f"{prefix}{key}."))
        return out
    if isinstance(node, str):
        node = node.replace(run_dir, "<run_dir>")
    return {prefix[:-1]: node}
