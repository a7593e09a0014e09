"""``learning_curves.png``: each defender's training returns, read from its ``metrics/<stage>/metrics.csv``.

The defender is trained by ``pretrain`` (pi0, MAPPO) and, in BATPAL-family runs, ``adversarial`` (pi_omega);
``calibrate`` trains an adversary only and is left out. A resumed stage logs to ``<stage>-resumed<i>/``; its
rows replace those of earlier logs from the frame where it starts (a resume continues, a restart supersedes).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from batpal.atomic import savefig_atomic  # noqa: E402

STAGES = ("pretrain", "adversarial")
Curve = list[tuple[float, float]]  # (frames, value)


def stage_logs(run_dir: Path, stage: str) -> list[Path]:
    """The stage's metrics.csv files in logging order: ``<stage>``, then ``<stage>-resumed1``, ..."""
    root = run_dir / "metrics"
    found = []
    for path in root.glob(f"{stage}*/metrics.csv") if root.is_dir() else []:
        match = re.fullmatch(rf"{stage}(?:-resumed(\d+))?", path.parent.name)
        if match:
            found.append((int(match[1] or 0), path))
    return [path for _, path in sorted(found)]


def read_stage(run_dir: Path, stage: str) -> dict[str, Curve]:
    """Every ``train/return*`` column of a stage as a curve over frames, the logs merged as the module doc says."""
    curves: dict[str, Curve] = {}
    for path in stage_logs(run_dir, stage):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        frames = [float(r["frames"]) for r in rows if r.get("frames")]
        if not frames:
            continue
        start = min(frames)
        for name in curves:  # this log supersedes everything from its first frame on
            curves[name] = [(x, y) for x, y in curves[name] if x < start]
        for column in rows[0]:
            if not column.startswith("train/return"):
                continue
            points = [(float(r["frames"]), float(r[column])) for r in rows if r.get(column) and r["frames"]]
            curves.setdefault(column, []).extend(p for p in points if math.isfinite(p[1]))
    return {name: points for name, points in curves.items() if points}


def smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average over ``window`` points."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def plot_learning_curves(defenders: Sequence[tuple[str, Path]], path: str | Path) -> None:
    """One panel per defender (label, run dir): its stages end to end on one frame axis, a line per return column."""
    fig, axes = plt.subplots(
        1, max(1, len(defenders)), layout="constrained", figsize=(4.5 * max(1, len(defenders)), 3.6), squeeze=False
    )
    for ax, (label, run_dir) in zip(axes[0], defenders, strict=False):
        offset = 0.0
        logged = [(stage, curves) for stage in STAGES if (curves := read_stage(Path(run_dir), stage))]
        for i, (stage, curves) in enumerate(logged):
            if i:  # where the previous stage ended
                ax.axvline(offset, color="grey", linestyle=":", linewidth=1)
            end = offset
            for column, points in sorted(curves.items()):
                xs = [offset + x for x, _ in points]
                ys = smooth([y for _, y in points], max(1, len(points) // 50))
                default = "return" if stage == "pretrain" else "all episodes"
                name = column.removeprefix("train/return").lstrip("/") or default
                ax.plot(xs, ys, linewidth=1.2, label=f"{stage}: {name}")
                end = max(end, xs[-1])
            offset = end
        if not ax.lines:
            ax.text(0.5, 0.5, "no training metrics", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(label)
        ax.set_xlabel("env frames")
        ax.set_ylabel("training episode return")
        if ax.lines:
            ax.legend(fontsize=7)
    savefig_atomic(fig, path, dpi=110)
    plt.close(fig)
