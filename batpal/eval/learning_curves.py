"""``learning_curves.png``: each defender's training, read from its ``metrics/<stage>/metrics.csv``, one panel per
defender label, every panel on the same axes.

The stages run end to end on one frame axis, their boundaries marked (pretrain | calibrate | adversarial):
pretrain and adversarial train the defender; calibrate trains a worst case against pi0, whose returns are drawn
too. The curves are the training returns (``train/return*``, smoothed; per type only where the stage has no
evaluations during training) and the evaluations during training (``eval/return/*``,
batpal/eval/during_training.py), as the paper's normalised return like the heatmap (win rate
on SMAC, which has no return bounds). Runs given one label (seeds) are drawn as their mean with a min-max band.
A resumed stage logs to ``<stage>-resumed<i>/``; its rows replace those of earlier logs from the frame where it
starts (a resume continues, a restart supersedes).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from omegaconf import OmegaConf

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from batpal.atomic import savefig_atomic  # noqa: E402
from batpal.envs.registry import check_env_name  # noqa: E402

STAGES = ("pretrain", "calibrate", "adversarial")
CURVE_PREFIXES = ("train/return", "eval/return/", "train/win_rate", "eval/win_rate/")
Curve = list[tuple[float, float]]  # (frames, value)
Group = tuple[str, Sequence[Path]]  # a panel: its label and the run dirs (seeds) drawn in it


def stage_logs(run_dir: Path, stage: str) -> list[Path]:
    """The stage's metrics.csv files in logging order: ``<stage>``, then ``<stage>-resumed1``, ..."""
    root = run_dir / "metrics"
    found = []
    for path in root.glob(f"{stage}*/metrics.csv") if root.is_dir() else []:
        match = re.fullmatch(rf"{stage}(?:-resumed(\d+))?", path.parent.name)
        if match:
            found.append((int(match[1] or 0), path))
    return [path for _, path in sorted(found)]


def read_stage(run_dir: Path, stage: str, prefixes: Sequence[str] = ("train/return",)) -> dict[str, Curve]:
    """Every column of a stage starting with one of ``prefixes`` as a curve over frames, the logs merged as the
    module doc says."""
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
            if not column.startswith(tuple(prefixes)):
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


def seed_groups(defenders: Sequence[tuple[str | None, Any]]) -> list[Group]:
    """Panels from (given label or None, defender): defenders given one label share a panel (its seeds), the
    others each have their own (their column's name), in first-seen order."""
    groups: dict[str, list[Path]] = {}
    for given, defender in defenders:
        groups.setdefault(given or defender.name, []).append(Path(defender.run_dir))
    return list(groups.items())


def run_curves(run_dir: Path) -> tuple[dict[tuple[str, str], Curve], list[tuple[str, float]], str]:
    """One run: its curves by (stage, column) on the run's frame axis (stages end to end), each stage's start,
    and the y axis's name; returns normalised with the env's paper bounds, win rates on an env without them, raw
    returns where the run has no config to name its env."""
    env = _env_name(run_dir)
    bounds = check_env_name(env).return_bounds if env else None
    wins = env is not None and bounds is None  # SMAC: win rates, as its heatmap
    done = _summary(run_dir)
    curves: dict[tuple[str, str], Curve] = {}
    starts: list[tuple[str, float]] = []
    offset = 0.0
    prefixes = CURVE_PREFIXES[2:] if wins else CURVE_PREFIXES[:2]
    for stage in STAGES:
        found = read_stage(run_dir, stage, prefixes)
        if any(column.startswith("eval/") for column in found):  # per-type training returns: the evals say it
            found = {c: p for c, p in found.items() if c.startswith("eval/") or c.count("/") == 1}
        budget = float(done.get(stage, {}).get("frames", 0) or 0)
        if not found and not budget:
            continue
        starts.append((stage, offset))
        for column, points in found.items():
            ys = [y for _, y in points]
            if bounds is not None:
                ys = [(y - bounds[0]) / (bounds[1] - bounds[0]) for y in ys]
            if column.startswith("train/"):
                ys = smooth(ys, max(1, len(ys) // 50))
            curves[stage, column] = [(offset + x, y) for (x, _), y in zip(points, ys, strict=True)]
        offset += max([budget, *(x for points in found.values() for x, _ in points)])
    return curves, starts, "win rate" if wins else "normalised return" if bounds is not None else "return"


def learning_curves_figure(groups: Sequence[Group]) -> Figure:
    """One panel per group, all sharing both axes; each curve the mean over the group's runs, with a min-max band
    where it has two or more; a dotted line and the stage's name where each stage starts."""
    n = max(1, len(groups))
    fig, axes = plt.subplots(1, n, layout="constrained", figsize=(4.5 * n, 3.6), squeeze=False, sharex=True,
                             sharey=True)
    ylabel = "normalised return"
    for ax, (label, run_dirs) in zip(axes[0], groups, strict=False):
        runs = [run_curves(Path(d)) for d in run_dirs]
        ylabel = runs[0][2] if runs else ylabel
        for stage, start in runs[0][1] if runs else []:
            ax.axvline(start, color="grey", linestyle=":", linewidth=1, gid=f"stage:{stage}")
            ax.annotate(stage, (start, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -10),
                        textcoords="offset points", fontsize=7, color="grey")
        keys = list(dict.fromkeys(key for curves, _, _ in runs for key in curves))
        for stage, column in keys:
            per_run = [curves[stage, column] for curves, _, _ in runs if (stage, column) in curves]
            xs, mean, low, high = seed_band(per_run)
            style = {"linestyle": "--", "marker": "o", "markersize": 2.5} if column.startswith("eval/") else {}
            (line,) = ax.plot(xs, mean, linewidth=1.2, label=f"{stage}: {_curve_name(column)}", **style)
            if len(per_run) > 1:
                ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0,
                                gid=f"band:{stage}:{column}")
        if not any(line.get_gid() is None for line in ax.lines):
            ax.text(0.5, 0.5, "no training metrics", ha="center", va="center", transform=ax.transAxes)
        seeds = f" ({len(run_dirs)} runs: mean, min-max)" if len(run_dirs) > 1 else ""
        ax.set_title(f"{label}{seeds}", fontsize=9)
        ax.set_xlabel("env frames (stages end to end)")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
        if any(line.get_gid() is None for line in ax.lines):
            ax.legend(fontsize=6)
    axes[0][0].set_ylabel(ylabel)
    return fig


def plot_learning_curves(groups: Sequence[Group | tuple[str, Path]], path: str | Path) -> None:
    """``learning_curves_figure`` of ``groups`` (label, run dirs; a single run dir is one run) saved at ``path``."""
    fig = learning_curves_figure([(label, [dirs] if isinstance(dirs, str | Path) else dirs) for label, dirs in groups])
    savefig_atomic(fig, path, dpi=110)
    plt.close(fig)


def seed_band(curves: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(xs, mean, min, max) over runs, each run interpolated onto the first run's frames within every run's span."""
    xs = np.array([x for x, _ in curves[0]])
    lo, hi = max(c[0][0] for c in curves), min(c[-1][0] for c in curves)
    xs = xs[(xs >= lo) & (xs <= hi)] if len(curves) > 1 else xs
    ys = np.stack([np.interp(xs, [x for x, _ in c], [y for _, y in c]) for c in curves])  # [runs, points]
    return xs, ys.mean(0), ys.min(0), ys.max(0)


def _curve_name(column: str) -> str:
    """``train/return`` -> training, ``train/return/psi_1`` -> training psi_1, ``eval/return/no_attack`` -> eval
    no_attack (and the same for win rates)."""
    kind, _, rest = column.partition("/")
    rest = rest.split("/", 1)[1] if "/" in rest else ""
    return f"{'training' if kind == 'train' else 'eval'}{' ' + rest if rest else ''}"


def _env_name(run_dir: Path) -> str | None:
    path = run_dir / "config.yaml"
    return str(OmegaConf.load(path).env.name) if path.is_file() else None


def _summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "summary.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:
        return {}
