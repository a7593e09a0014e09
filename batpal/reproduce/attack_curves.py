"""``attack_curves.png`` and ``attack_curves.csv``: each RL attack's training curve against each defender, so a
reader can check that the attack budget was long enough (the training return has flattened; issue 13).

An attack step (``attack_<kind>_vs_<defender>``) logs the team's return under the attack while it trains
(``train/return`` of its ``metrics/attack``: lower is a stronger attack). It is drawn, like the heatmap, as the
paper's normalised return (raw where the env has no bounds, win rate on SMAC). The CSV gives per step the mean over
each quarter of the budget and ``late_change``: the mean over the last fifth of the frames minus the mean over the
fifth before it (about 0: flat; negative: the attack was still getting stronger when its budget ended). The CSV
names attacks and defenders by their steps (``pi0`` is MAPPO's defender), the figure by the paper's labels.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from batpal.atomic import savefig_atomic  # noqa: E402
from batpal.attacks.checkpoint import KIND_LABELS  # noqa: E402
from batpal.envs.registry import check_env_name  # noqa: E402
from batpal.eval.defenders import METHOD_LABELS  # noqa: E402
from batpal.eval.learning_curves import Curve, read_stage, seed_band, smooth  # noqa: E402
from batpal.reproduce.steps import Step  # noqa: E402

STEP_NAME = re.compile(r"attack_(?P<attack>[a-z0-9]+)_vs_(?P<defender>\w+)")
COLUMNS = ("attack", "defender", "seed", "frames", "q1", "q2", "q3", "q4", "late_change")


def attack_curve(run_dir: Path, env: str) -> tuple[Curve, str]:
    """The step's training curve (frames, figure) and the figure's name."""
    bounds = check_env_name(env).return_bounds
    wins = read_stage(run_dir, "attack", ("train/win_rate",)).get("train/win_rate")
    if bounds is None and wins:
        return wins, "win rate"
    points = read_stage(run_dir, "attack", ("train/return",)).get("train/return", [])
    if bounds is None:
        return points, "return"
    lo, hi = bounds
    return [(x, (y - lo) / (hi - lo)) for x, y in points], "normalised return"


def summarise_curve(points: Curve) -> dict[str, float]:
    """Quarter means, ``late_change`` (module doc) and the last frame of one curve; NaN where a share of the budget
    has no point."""
    xs = np.array([x for x, _ in points], dtype=float)
    ys = np.array([y for _, y in points], dtype=float)
    end = float(xs.max()) if len(xs) else 0.0

    def mean(lo: float, hi: float) -> float:
        inside = (xs > lo * end) & (xs <= hi * end)
        return float(ys[inside].mean()) if inside.any() else float("nan")

    out = {f"q{i}": mean((i - 1) / 4, i / 4) for i in range(1, 5)}
    out["late_change"] = mean(0.8, 1.0) - mean(0.6, 0.8)
    out["frames"] = int(end)
    return out


def write_attack_curves(steps: Sequence[Step], root: Path, env: str) -> list[Path]:
    """The CSV and the figure (one panel per attack kind, one line per defender: mean over seeds, min-max band)
    for the attack steps among ``steps``; nothing when there are none, no figure when none has a curve."""
    found: dict[str, dict[str, list[Curve]]] = {}
    rows, ylabel = [], "normalised return"
    for step in steps:
        match = STEP_NAME.fullmatch(step.name) if step.kind == "attack" else None
        if match is None:
            continue
        points, ylabel = attack_curve(step.run_dir(root), env)
        if points:  # none: no episode ended while it trained (a tiny budget); its CSV row says so with NaN
            found.setdefault(match["attack"], {}).setdefault(match["defender"], []).append(points)
        rows.append({"attack": match["attack"], "defender": match["defender"], "seed": step.seed,
                     **summarise_curve(points)})
    if not rows:
        return []
    table = root / "attack_curves.csv"
    with open(table, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
    if not found:
        return [table]
    figure = root / "attack_curves.png"
    _plot(found, figure, ylabel)
    return [table, figure]


def _plot(found: dict[str, dict[str, list[Curve]]], path: Path, ylabel: str) -> None:
    n = len(found)
    fig, axes = plt.subplots(1, n, layout="constrained", figsize=(4.5 * n, 3.6), squeeze=False, sharey=True)
    for ax, (attack, by_defender) in zip(axes[0], found.items(), strict=True):
        for defender, curves in by_defender.items():
            smoothed = [[(x, y) for (x, _), y in zip(c, smooth([y for _, y in c], max(1, len(c) // 50)), strict=True)]
                        for c in curves]
            xs, mean, low, high = seed_band(smoothed)
            name = "MAPPO (pi0)" if defender == "pi0" else METHOD_LABELS.get(defender, defender)
            (line,) = ax.plot(xs, mean, linewidth=1.2, label=f"vs {name}")
            if len(curves) > 1:
                ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        seeds = max(len(c) for c in by_defender.values())
        ax.set_title(f"{KIND_LABELS.get(attack, attack)} training ({seeds} seed(s): mean, min-max)", fontsize=9)
        ax.set_xlabel("env frames")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel(f"team's {ylabel} under the attack")
    savefig_atomic(fig, path, dpi=110)
    plt.close(fig)
