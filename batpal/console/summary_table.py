"""The short table each command prints when it ends, built from what it wrote (``summary.json``, the
reproduction's markdown tables) so that it can be checked without training. One function per command."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

STAGES = ("pretrain", "calibrate", "adversarial")


def read_summary(run_dir: str | Path) -> dict[str, Any]:
    """``<run_dir>/summary.json`` (empty when absent)."""
    path = Path(run_dir) / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def score(figures: Mapping[str, Any] | None) -> str:
    """A team's result as the paper reports it: normalised return (+- its standard error), else win rate, else the
    raw return."""
    if not figures:
        return "-"
    if figures.get("return_normalized") is not None:
        se = figures.get("return_normalized_se")
        return f"{figures['return_normalized']:.3f}" + (f" +- {se:.3f}" if se is not None else "")
    if figures.get("win_rate") is not None:
        return f"{figures['win_rate']:.2f} win"
    if figures.get("return_mean") is not None:
        se = figures.get("return_se")
        return f"{figures['return_mean']:.1f}" + (f" +- {se:.1f}" if se is not None else "")
    return "-"


def metric_name(figures: Mapping[str, Any] | None) -> str:
    if figures and figures.get("return_normalized") is not None:
        return "normalised return"
    return "win rate" if figures and figures.get("win_rate") is not None else "return"


def seconds(s: float) -> str:
    s = float(s)
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.2f} h"


def columns(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Rows as left-aligned text columns (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def in_band_mark(entry: Mapping[str, Any]) -> str:
    return "yes" if entry.get("in_band") else "NO"


def victim_labels(summary: Mapping[str, Any], n: int) -> list[str]:
    """``0, 1, ...``, or ``{0,1}`` per victim set (``game.victims`` > 1)."""
    sets = (summary.get("adversarial") or {}).get("victim_sets") or (summary.get("calibrate") or {}).get("victim_sets")
    if sets:
        return ["{" + ",".join(str(a) for a in s) + "}" for s in sets]
    return [str(v) for v in range(n)]


def fit_table(summary: Mapping[str, Any], run_dir: str | Path, elapsed: Mapping[str, float] | None = None) -> str:
    """pi0's return; Vmax, Vmin and the value band edges per victim; each psi_k's severity, band and whether it is
    in its band, the defender against no attack and each psi_k beside pi0; wall-clock per stage; the run dir.
    ``elapsed``: each stage's whole time (training and evaluation) when this command ran it."""
    lines = ["== batpal.fit: summary =="]
    pre, cal, adv = (summary.get(stage) for stage in STAGES)
    if pre:
        lines.append(f"pi0 (pretrain): normalised return {score(pre)}  (return {pre['return_mean']:.2f}, "
                     f"Vmax {pre['vmax']:.2f})")
    if cal:
        lines += _bounds(summary, cal, adv)
    if adv:
        lines += _attacks(pre, adv)
    lines.append("wall-clock: " + _wall(summary, elapsed or {}))
    lines.append(f"run dir: {Path(run_dir)}")
    return "\n".join(lines)


def _bounds(summary: Mapping[str, Any], cal: Mapping[str, Any], adv: Mapping[str, Any] | None) -> list[str]:
    vmin = cal["vmin"]
    bands = (adv or {}).get("bands")
    n = len(vmin) if isinstance(vmin, list) else len(bands) if bands else 1
    vmins = vmin if isinstance(vmin, list) else [vmin] * n
    header = ["victim", "Vmax", "Vmin"] + (["value band edges, psi_1 .. psi_K (high > low)"] if bands else [])
    rows = [header]
    labels = victim_labels(summary, n) if isinstance(vmin, list) or bands else ["all"]
    for label, v, low in zip(labels, range(n), vmins, strict=True):
        row = [label, f"{cal['vmax']:.2f}", f"{low:.2f}"]
        if bands:
            edges = [bands[v][0][1], *(band[0] for band in bands[v])]  # [k][low, high] -> Vmax, then each low edge
            row.append(" > ".join(f"{e:.1f}" for e in edges))
        rows.append(row)
    return [f"bounds (eq. 3, {cal.get('source', 'calibrated')}):", *columns(rows)]


def _attacks(pre: Mapping[str, Any] | None, adv: Mapping[str, Any]) -> list[str]:
    K = int(adv["K"])
    metric = metric_name(adv.get("no_attack"))
    rows = [["attack", "severity", "band", "in band", f"defender ({metric})", f"pi0 ({metric})"],
            ["none", "-", "-", "-", score(adv.get("no_attack")), score(pre)]]
    for k in range(1, K + 1):
        entry = adv.get(f"psi_{k}")
        if entry is None:
            continue
        low, high = entry["band"]
        rows.append([f"psi_{k}", f"{entry['severity']:.3f}", f"({low:.2f}, {high:.2f}]", in_band_mark(entry),
                     score(entry.get("defender")), score(entry.get("pi0"))])
    inside = sum(bool((adv.get(f"psi_{k}") or {}).get("in_band")) for k in range(1, K + 1))
    return [f"attacks (K={K}; {inside} of {K} severities in band):", *columns(rows)]


def _wall(summary: Mapping[str, Any], elapsed: Mapping[str, float]) -> str:
    parts = []
    for stage in STAGES:
        if stage in elapsed:
            training = (summary.get(stage) or {}).get("wall_s")
            parts.append(f"{stage} {seconds(elapsed[stage])}"
                         + (f" (training {seconds(training)})" if training is not None else ""))
        elif (summary.get(stage) or {}).get("wall_s") is not None:
            parts.append(f"{stage} training {seconds(summary[stage]['wall_s'])} (earlier run)")
    return ", ".join(parts) or "-"


def attack_table(summary: Mapping[str, Any], run_dir: str | Path) -> str:
    """The attacked team's return beside the same team without attack, the victim's detectability, frames, time."""
    a = summary["attack"]
    metric = metric_name(a)
    rows = [["", metric, "detectability", "deviation rate"],
            ["no attack", score(a.get("no_attack")), "-", "-"],
            [f"attack {a['kind']} (c={a['c']:g})", score(a), f"{a['detectability_mean']:.3f}",
             f"{a['deviation_rate']:.3f}"]]
    return "\n".join([f"== batpal.attack: summary ({a.get('defender_name', 'defender')} at {a['defender']}) ==",
                      *columns(rows), f"training: {a['frames']:,} frames in {seconds(a['wall_s'])}",
                      f"run dir: {Path(run_dir)}"])


def evaluate_table(summary: Mapping[str, Any], run_dir: str | Path) -> str:
    """The cross table (rows: attacks, columns: defenders) in the evaluation's metric."""
    e = summary["evaluate"]
    table: Mapping[str, Mapping[str, float]] = e["table"]
    cols = list(dict.fromkeys(c for row in table.values() for c in row))
    rows = [["attack", *cols]] + [[name, *(_num(row.get(c)) for c in cols)] for name, row in table.items()]
    played = f"{e.get('cells_played')} of {e.get('cells_total')} cells"
    status = "complete" if e.get("complete") else f"INCOMPLETE ({played})"
    return "\n".join([f"== batpal.evaluate: {e['metric']}, {e['env']}, {status} ==", *columns(rows),
                      f"wall-clock: {seconds(e['wall_s'])}", f"run dir: {Path(run_dir)}"])


def reproduce_table(summary: Mapping[str, Any], run_dir: str | Path) -> str:
    """Each table the reproduction built (its markdown), the steps run and cached, the time, the README."""
    r = summary["reproduce"]
    lines = [f"== batpal.reproduce: seeds {r['seeds']}, {r['steps_run']} of {r['steps']} steps run here "
             f"({r['steps'] - r['steps_run']} cached), {seconds(r['wall_s'])} =="]
    for name, paths in r["tables"].items():
        md = next((Path(p) for p in paths if str(p).endswith(".md")), None)
        lines.append(md.read_text().strip() if md is not None and md.is_file() else f"{name}: {', '.join(paths)}")
    lines += [f"README: {r['readme']}", f"run dir: {Path(run_dir)}"]
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"
