"""The line a stage announces itself with when it starts: what it does, its frame budget and the run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PURPOSE = {
    "pretrain": "MAPPO trains the reference policy pi0, then evaluates it (its return and Vmax)",
    "calibrate": "worst-case adversaries against frozen pi0 find Vmin per victim (eq. 3's bounds)",
    "adversarial": "the defender trains against the K adversaries psi_k of the type game (BATPAL: Algorithm 1)",
    "attack": "an RL attack learns to hurt the frozen defender from one victim's slot",
}


def frames_text(frames: int) -> str:
    """``8,000,000`` as ``8.0M``: budgets are read at a glance."""
    for scale, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if frames >= scale:
            return f"{frames / scale:.1f}{suffix}"
    return str(frames)


def stage_banner(stage: str, frames: int | None, run_dir: str | Path, note: str = "") -> str:
    """``== stage <name>: <purpose> ==`` then its budget (``frames=None``: trains nothing) and the run dir."""
    budget = "no training" if frames is None else f"{frames_text(int(frames))} frames ({int(frames):,})"
    lines = [f"== stage {stage}: {PURPOSE.get(stage, stage)} ==", f"   budget {budget}{'; ' + note if note else ''}",
             f"   run dir {Path(run_dir)}"]
    return "\n".join(lines)


def fit_banner(cfg: Any, stage: str, run_dir: str | Path, resumed: bool = False) -> str:
    """The banner of a ``batpal.fit`` stage from its config (``<stage>.frames``; calibrate trains nothing when the
    config gives both bounds, and may stop early on convergence)."""
    notes = ["resumed from its checkpoint"] if resumed else []
    frames: int | None = int(cfg[stage].frames)
    if stage == "calibrate":
        if cfg.game.vmax is not None and cfg.game.vmin is not None:
            frames, notes = None, ["Vmax and Vmin from the config (game.vmax, game.vmin)"]
        elif cfg.calibrate.get("converge_tol"):
            notes.append("may stop early once converged (calibrate.converge_tol)")
    if stage == "adversarial":
        notes.append(f"method {cfg.get('method', 'batpal')}, K={cfg.game.K}")
    return stage_banner(stage, frames, run_dir, "; ".join(notes))
