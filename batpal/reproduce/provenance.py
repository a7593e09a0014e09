"""Where a result comes from: the command, the commit and the machine, beside every table the reproduction writes.

Each job stamps its ``done.json`` with the commit and machine it ran on and its wall-clock, so a reproduction
resumed over several sessions (or commits) still says which step ran where; ``README.md`` at the top lists them.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[2]
README = "README.md"
RESULTS = "results"  # committed reproductions (their README.md changes as steps finish): not the code's state


def commit() -> str:
    """The package's git commit (``+dirty`` when tracked files outside ``results/`` differ from it); ``unknown``
    outside a checkout."""
    try:
        head = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no", "--", ".", f":(exclude){RESULTS}")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=30)
    return out.stdout.strip()


def machine() -> str:
    """CPU count, memory, OS, Python and torch, and the GPU if one is visible: enough to compare wall-clocks."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0.0
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{os.cpu_count()} CPU cores, {memory:.0f} GiB, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, torch {torch.__version__}, {gpu}")


def stamp() -> dict[str, str]:
    """What a finished step records of where it ran (``done.json``)."""
    return {"commit": commit(), "machine": machine()}


def write_readme(root: Path, command: Sequence[str], rows: Sequence[dict[str, Any]], tables: dict[str, list[str]],
                 wall_s: float, caption: str, pending: Sequence[str] = (), notes: Sequence[str] = ()) -> Path:
    """``README.md`` in ``root``: the command, this invocation's commit, machine and wall-clock, the tables, and
    per step (from its ``done.json``) its wall-clock, commit and machine. With ``pending`` (the steps still to run:
    a dry run of an unfinished reproduction) it says so, and that no table is built yet; ``notes``: its lines on
    the time left (``batpal.reproduce.estimate``)."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reproduction" + (" (in progress)" if pending else ""),
        "",
        "Written by `python -m batpal.reproduce` (not by hand). Command:",
        "",
        "```bash",
        "python -m batpal.reproduce " + " ".join(shlex.quote(c) for c in command),
        "```",
        "",
    ]
    if pending:
        lines += [
            f"- in progress: {len(rows)} of {len(rows) + len(pending)} steps done ({now}, commit `{commit()}`); "
            "no table is built before every step is done. The same command resumes it; steps still to run: "
            + ", ".join(pending),
            *notes,
            "",
        ]
    else:
        lines += [
            f"- tables built {now}, commit `{commit()}`, machine: {machine()}",
            f"- this invocation's wall-clock: {wall_s:.0f} s (steps cached by earlier invocations not included)",
            f"- tables: {', '.join(sorted(Path(p).name for paths in tables.values() for p in paths))}",
            "",
            caption,
            "",
        ]
    lines += [
        "| step | kind | wall-clock (s) | finished (UTC) | commit | machine |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        finished = datetime.datetime.fromtimestamp(row["finished"], datetime.UTC).strftime("%Y-%m-%d %H:%M")
        wall = f"{row['wall_s']:.0f}" if row.get("wall_s") is not None else "n/a"
        wall += " *" if row.get("partial") else ""
        lines.append(f"| {row['step']} | {row['kind']} | {wall} | {finished} | `{str(row.get('commit', 'n/a'))[:12]}` "
                     f"| {row.get('machine', 'n/a')} |")
    total = sum(r["wall_s"] for r in rows if r.get("wall_s") is not None)
    lines += ["", f"Sum of the steps' wall-clock: {total:.0f} s ({total / 3600:.2f} h)."]
    if any(r.get("partial") for r in rows):
        lines += ["", "\\* resumed before a step counted all its invocations: its training time over every "
                  "invocation (its summary.json), without the earlier invocations' start-up and evaluation."]
    lines += ["", *wall_clock_shares(rows)]
    path = root / README
    path.write_text("\n".join(lines))
    return path


def step_group(row: dict[str, Any]) -> str:
    """What a step counts towards in the wall-clock shares: a fit step by its name (pi0, calibrate, each method),
    the RL attacks, the evaluations and the exports each as one group."""
    name = str(row["step"]).split("/", 1)[-1]
    return name if row["kind"] == "fit" else {"attack": "RL attacks", "evaluate": "evaluations",
                                               "export": "exports"}.get(str(row["kind"]), str(row["kind"]))


def wall_clock_shares(rows: Sequence[dict[str, Any]]) -> list[str]:
    """README lines: each step group's summed wall-clock and share, largest first, and the span from the first
    step's start to the last one's end (parallel jobs overlap; the span also counts pauses between invocations)."""
    timed = [r for r in rows if r.get("wall_s") is not None]
    total = sum(float(r["wall_s"]) for r in timed)
    if not timed or total <= 0:
        return []
    groups: dict[str, float] = {}
    for row in timed:
        groups[step_group(row)] = groups.get(step_group(row), 0.0) + float(row["wall_s"])
    span = max(float(r["finished"]) for r in timed) - min(float(r["finished"]) - float(r["wall_s"]) for r in timed)
    lines = ["| step group | wall-clock (s) | share |", "|---|---|---|"]
    lines += [f"| {name} | {wall:.0f} | {wall / total:.1%} |"
              for name, wall in sorted(groups.items(), key=lambda item: -item[1])]
    return [*lines, "", f"From the first step's start to the last step's end: {span:.0f} s ({span / 3600:.2f} h).", ""]


def publish(root: Path, target: Path, files: Sequence[Path]) -> list[Path]:
    """Copies the tables, plots, statistics and README (never checkpoints) into ``target`` (e.g. results/<env>)."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in files:
        shutil.copy2(path, target / path.name)
        copied.append(target / path.name)
    return copied
