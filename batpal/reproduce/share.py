"""Sharing a seed's pi0 and calibration: copied into a method's run dir before its adversarial stage starts.

The method's run then holds what ``batpal.fit`` would have written itself (``pi0.pt``, ``summary.json``'s
``pretrain`` and ``calibrate`` entries, pi0's learning curve), so it loads, evaluates and is attacked like any
finished run, while pi0 and Vmax / Vmin are trained once per seed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from batpal.artifacts import REFERENCE_POLICY
from batpal.atomic import atomic_write
from batpal.summary import Summary

ENTRIES = {"pi0": "pretrain", "calibrate": "calibrate"}  # shared step -> the summary entry it gives


def share(run_dir: Path, sources: dict[str, Path]) -> None:
    """Copy pi0 (``sources["pi0"]``) and the calibration (``sources["calibrate"]``) into ``run_dir``; idempotent."""
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary(run_dir / "summary.json")
    for name, source in sources.items():
        entry = Summary(source / "summary.json").stage(ENTRIES[name])
        if entry is None:
            raise FileNotFoundError(f"{source} has no {ENTRIES[name]!r} entry in its summary.json: is it finished?")
        summary.write_stage(ENTRIES[name], entry)
    pi0 = sources.get("pi0")
    if pi0 is None:
        return
    with open(pi0 / REFERENCE_POLICY, "rb") as src, atomic_write(run_dir / REFERENCE_POLICY, "wb") as dst:
        shutil.copyfileobj(src, dst)
    curve, mine = pi0 / "metrics" / "pretrain", run_dir / "metrics" / "pretrain"
    if curve.is_dir() and not mine.exists():
        shutil.copytree(curve, mine)
