"""How long the steps left of a reproduction will take, from the steps already done: a reproduction spans
sessions, and the next one is planned from this figure.

A training step costs its frames times the seconds per frame that the done steps of its group took (pi0, calibrate,
a method, the RL attacks: ``provenance.step_group``); a group with no done step yet takes its kind's rate (every
done step of that kind), an evaluation the mean wall-clock of the done evaluations. The rates are those of the
load the done steps ran under (other jobs beside them), so the estimate is one of that load too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    """A step as the estimate sees it: its group and kind, its training frames and (done) its wall-clock."""

    group: str
    kind: str
    frames: int
    wall_s: float | None = None


@dataclass(frozen=True)
class Estimate:
    seconds: float  # one job's wall-clock for every step it could price
    unpriced: tuple[str, ...]  # groups of steps left with no done step of their kind: not in ``seconds``
    borrowed: tuple[str, ...]  # groups priced at their kind's rate (none of the group done yet)

    def lines(self, jobs: int) -> list[str]:
        """README lines; ``jobs``: the parallel jobs the reproduction runs (its wall-clock divides by them at best)."""
        jobs = max(1, jobs)
        text = (f"- estimated time left: {self.seconds / 3600:.1f} h of one job's wall-clock"
                + (f", about {self.seconds / 3600 / jobs:.1f} h with {jobs} jobs at once" if jobs > 1 else "")
                + ", at the seconds per frame the done steps took under their load (`batpal.reproduce.estimate`)")
        if self.borrowed:
            text += f"; priced at their kind's rate, none of them done yet: {', '.join(self.borrowed)}"
        if self.unpriced:
            text += f"; not counted (no done step of their kind): {', '.join(self.unpriced)}"
        return [text]


def estimate(done: Sequence[Cost], left: Sequence[Cost]) -> Estimate:
    """The time ``left`` takes at the rates of ``done`` (steps without a wall-clock are ignored)."""
    timed = [c for c in done if c.wall_s is not None]
    seconds, unpriced, borrowed = 0.0, set(), set()
    for cost in left:
        rate = _rate([c for c in timed if c.group == cost.group], cost)
        if rate is None:
            rate = _rate([c for c in timed if c.kind == cost.kind], cost)
            (borrowed if rate is not None else unpriced).add(cost.group)
        seconds += rate or 0.0
    return Estimate(seconds, tuple(sorted(unpriced)), tuple(sorted(borrowed - unpriced)))


def _rate(samples: Sequence[Cost], cost: Cost) -> float | None:
    """``cost``'s seconds at ``samples``' rate: per frame when both train, else the mean step's wall-clock."""
    if not samples:
        return None
    frames = sum(c.frames for c in samples)
    wall = sum(float(c.wall_s or 0.0) for c in samples)
    if cost.frames > 0 and frames > 0:
        return wall / frames * cost.frames
    return wall / len(samples)
