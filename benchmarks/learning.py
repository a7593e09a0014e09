"""Learning speed of the pretrain stage: pi0's normalised return against frames and wall-clock.

Runs ``python -m batpal.fit experiment=<env>`` with its default budget (or ``--frames``) into
``runs/benchmarks/<env>`` and prints the training curve from ``metrics.csv`` and the final evaluation.

    python benchmarks/learning.py --env mpe_spread        # default budget of experiment=mpe_spread
    python benchmarks/learning.py --env lbf --frames 2e7
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
from pathlib import Path

from batpal.eval import normalized_return

REPO = Path(__file__).resolve().parents[1]


def curve(metrics: Path) -> list[tuple[float, float, float]]:
    """(frames, wall seconds, mean training-episode return) for every logged iteration that had episodes."""
    points = []
    with metrics.open() as f:
        for row in csv.DictReader(f):
            if row.get("train/return"):
                points.append((float(row["frames"]), float(row["wall_s"]), float(row["train/return"])))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="mpe_spread", choices=["mpe_spread", "lbf"])
    parser.add_argument("--frames", type=float, default=None, help="override pretrain.frames")
    parser.add_argument("--rows", type=int, default=20, help="curve rows to print")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args()
    run_dir = REPO / "runs" / "benchmarks" / args.env
    shutil.rmtree(run_dir, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "batpal.fit",
        f"experiment={args.env}",
        f"hydra.run.dir={run_dir}",
        "trainer.enable_progress_bar=false",
        "stages=[pretrain]",
        *args.overrides,
    ]
    if args.frames is not None:
        cmd.append(f"pretrain.frames={int(args.frames)}")
    subprocess.run(cmd, check=True, cwd=REPO)

    points = curve(run_dir / "metrics" / "pretrain" / "metrics.csv")
    print(f"\n{'frames':>12} {'wall_s':>9} {'return':>10} {'normalised':>11}")
    for frames, wall, ret in points[:: max(1, len(points) // args.rows)] + points[-1:]:
        print(f"{frames:>12,.0f} {wall:>9.1f} {ret:>10.3f} {normalized_return(args.env, ret):>11.3f}")
    import json

    final = json.loads((run_dir / "summary.json").read_text())["pretrain"]
    print(
        f"\nfinal pi0 over {final['eval_episodes']} episodes: return {final['return_mean']:.3f} "
        f"+- {final['return_se']:.3f}, Vmax {final['vmax']:.3f}, {final['frames']:,} frames in {final['wall_s']:.0f} s"
    )
    print(f"{args.env}_pi0_normalized_return: {final['return_normalized']:.3f}")


if __name__ == "__main__":
    main()
