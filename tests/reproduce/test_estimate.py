"""The time a partial reproduction has left, from its done steps: a step at its group's seconds per frame, a group
with none done at its kind's, an evaluation at the done evaluations' mean, a kind with none done named and not
counted."""

from __future__ import annotations

import pytest

from batpal.reproduce.estimate import Cost, estimate
from batpal.reproduce.run import parallel_jobs

DONE = [
    Cost("pi0", "fit", 800, 100.0),
    Cost("calibrate", "fit", 200, 50.0),
    Cost("RL attacks", "attack", 400, 40.0),
    Cost("RL attacks", "attack", 600, 80.0),
    Cost("evaluations", "evaluate", 0, None),  # done before stamps: no wall-clock, ignored
]


def test_a_step_costs_its_frames_at_its_groups_rate():
    left = estimate(DONE, [Cost("pi0", "fit", 1600), Cost("RL attacks", "attack", 500)])
    assert left.seconds == pytest.approx(200.0 + 500 * 120.0 / 1000)
    assert left.borrowed == () and left.unpriced == ()


def test_a_group_with_none_done_takes_its_kinds_rate_and_says_so():
    left = estimate(DONE, [Cost("batpal", "fit", 1000)])
    assert left.seconds == pytest.approx(1000 * 150.0 / 1000)  # pi0 and calibrate together: 150 s per 1000 frames
    assert left.borrowed == ("batpal",)


def test_evaluations_cost_the_done_ones_mean_and_a_kind_with_none_done_is_not_counted():
    done = [*DONE, Cost("evaluations", "evaluate", 0, 30.0), Cost("evaluations", "evaluate", 0, 50.0)]
    assert estimate(done, [Cost("evaluations", "evaluate", 0)]).seconds == pytest.approx(40.0)
    left = estimate(DONE, [Cost("evaluations", "evaluate", 0), Cost("pi0", "fit", 800)])
    assert left.seconds == pytest.approx(100.0) and left.unpriced == ("evaluations",)
    text = left.lines(jobs=2)[0]
    assert "0.0 h of one job's wall-clock" in text and "with 2 jobs at once" in text
    assert "not counted (no done step of their kind): evaluations" in text


def test_the_parallel_jobs_come_from_the_launchers_override():
    assert parallel_jobs(["experiment=lbf", "hydra.launcher.n_jobs=3"]) == 3
    assert parallel_jobs(["experiment=lbf"]) == 1 and parallel_jobs(["hydra.launcher.n_jobs=-1"]) == 1
