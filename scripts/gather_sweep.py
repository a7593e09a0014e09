"""``python scripts/gather_sweep.py <sweep dir> [--by game.K] [--out DIR]``: the sweep's Table 3 (mean ± SE over
seeds per K), printed and written as ``sweep_table.csv`` and ``sweep_table.md`` (in the sweep dir by default)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, installed or not

from batpal.analysis.sweep import gather_sweep, write_sweep_table  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sweep_dir", type=Path, help="a Hydra sweep dir of batpal.fit (hydra.sweep.dir)")
    parser.add_argument("--by", default="game.K", help="config key of the columns (default: game.K)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the table (default: sweep_dir)")
    args = parser.parse_args(argv)
    table = gather_sweep(args.sweep_dir, by=args.by)
    csv_path, md_path = write_sweep_table(table, args.out or args.sweep_dir)
    print(table.to_markdown())
    for path in table.unfinished:
        print(f"skipped (no finished adversarial stage): {path}")
    print(f"wrote {csv_path} and {md_path}")


if __name__ == "__main__":
    main()
