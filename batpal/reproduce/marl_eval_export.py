"""``<table>_marl_eval.json``: a reproduced table's per-seed cells in marl-eval's JSON layout
(batpal/eval/marl_eval.py), beside ``<table>.csv``: task = attack row, algorithm = defender column, run =
``seed_<k>``, one step at the frames that trained the column's defender; its metric is the table's
(``return_normalized``, or ``win_rate`` on SMAC)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from batpal.eval.marl_eval import Record, defender_run, layout, write_marl_eval
from batpal.reproduce.layout import KT, Table
from batpal.reproduce.plan import kt_step
from batpal.reproduce.results import Figure


def export_table(table: Table, seeds: Sequence[int], per_seed: Sequence[dict[tuple[str, str], Figure]], root: Path,
                 env: str, metric: str) -> Path:
    """Writes ``<root>/<table>_marl_eval.json`` from the cells of every seed (those ``seed_cells`` found)."""
    records = []
    for seed, cells in zip(seeds, per_seed, strict=True):
        for row in table.rows:
            for column in table.columns:
                figure = cells.get((row.label, column.label))
                if figure is None:
                    continue
                step = column.step
                if step == KT and not (root / f"seed{seed}" / KT).is_dir():  # reproduce.kt=per_row: a KT per row
                    attacked = [r for r in table.rows if r.source != "none"]  # No attack pools them: the first's
                    step = kt_step(row if row.source != "none" else attacked[0]) if attacked else KT
                records.append(Record(row.label, column.label, f"seed_{seed}", _frames(root / f"seed{seed}" / step),
                                      {metric: figure.value}))
    return write_marl_eval(layout(env, records), root / f"{table.name}_marl_eval.json")


def _frames(run_dir: Path) -> int:
    """The env frames that trained the run (0 where it is not a training run of its own)."""
    return defender_run(run_dir)[1] if (run_dir / "config.yaml").is_file() else 0
