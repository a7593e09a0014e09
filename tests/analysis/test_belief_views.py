"""belief_views and over_episodes on hand-made beliefs, and the figure built from them."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from batpal.analysis.belief_plots import COLUMNS, plot_belief_trajectories
from batpal.analysis.belief_trajectories import BeliefTrajectories
from batpal.analysis.belief_views import belief_views, over_episodes

matplotlib.use("Agg")

E, T, N, K = 2, 3, 3, 2  # |Z| = 7


def _traj(z: int, beliefs: torch.Tensor, mode: str = "softmax", attack: str | None = None) -> BeliefTrajectories:
    victim, severity = (-1, 0) if z == 0 else ((z - 1) // K, (z - 1) % K + 1)
    return BeliefTrajectories(
        type_index=z,
        victim=victim,
        severity=severity,
        beliefs=beliefs,
        alive=torch.ones(E, T, dtype=torch.bool),
        returns=torch.tensor([-50.0, -60.0]),
        types=torch.full((E, T), z),
        actions=torch.zeros(E, T, N, dtype=torch.long),
        mode=mode,
        n_agents=N,
        K=K,
        attack=attack,
    )


def test_softmax_views_are_sums_over_z() -> None:
    b = torch.randn(E, T, N, 1 + N * K).softmax(-1)
    views = belief_views(_traj(4, b))  # z = 4: victim 1, severity 2
    torch.testing.assert_close(views.true_type, b[..., 4])
    torch.testing.assert_close(views.attacked, 1 - b[..., 0])
    torch.testing.assert_close(views.victim[..., 1], b[..., 3] + b[..., 4])  # (1, 1), (1, 2)
    torch.testing.assert_close(views.severity[..., 1], b[..., 2] + b[..., 4] + b[..., 6])  # (v, 2) for v = 0..2
    torch.testing.assert_close(views.victim.sum(-1), views.attacked)
    torch.testing.assert_close(views.severity.sum(-1), views.attacked)
    torch.testing.assert_close(belief_views(_traj(0, b)).true_type, b[..., 0])


def test_sigmoid_views_read_the_factored_scores() -> None:
    b = torch.rand(E, T, N, N + K)  # victim scores ++ severity scores
    views = belief_views(_traj(5, b, mode="sigmoid"))  # z = 5: victim 2, severity 1
    torch.testing.assert_close(views.true_type, b[..., 2] * b[..., N])
    torch.testing.assert_close(views.attacked, b[..., :N].max(-1).values)
    torch.testing.assert_close(views.victim, b[..., :N])
    torch.testing.assert_close(views.severity, b[..., N:])
    torch.testing.assert_close(belief_views(_traj(0, b, mode="sigmoid")).true_type, 1 - views.attacked)


def test_over_episodes_ignores_steps_after_the_end() -> None:
    x = torch.tensor([[1.0, 2.0, math.nan], [3.0, math.nan, math.nan], [5.0, 4.0, math.nan]])  # [episodes, T]
    mean, se = over_episodes(x)
    torch.testing.assert_close(mean[:2], torch.tensor([3.0, 3.0]))
    torch.testing.assert_close(se[:2], torch.tensor([2.0 / math.sqrt(3), 1.0]))
    assert math.isnan(mean[2])  # every episode had ended


def test_figure_has_a_row_per_type_and_a_line_per_agent() -> None:
    b = torch.randn(E, T, N, 1 + N * K).softmax(-1)
    trajs = [_traj(0, b), _traj(4, b), _traj(4, b, attack="Random")]
    fig = plot_belief_trajectories(trajs, title="t")
    axes = fig.get_axes()
    assert len(axes) == 3 * len(COLUMNS)
    lines = [len(ax.get_lines()) for ax in axes]
    assert lines[:4] == [N, N, 0, 0]  # no attack: no victim, no severity
    assert lines[4:8] == [N] * 4  # psi_2 on victim 1: every view
    assert lines[8:] == [0, N, N, 0]  # an attack outside Z: no true type, no severity band
    assert "not defined: the attack is no psi_k" in [t.get_text() for t in axes[8].texts]
    assert [line.get_linestyle() for line in axes[4].get_lines()] == ["-", "--", "-"]  # agent 1 is the victim
    small = plot_belief_trajectories(trajs[:1], columns=["an attack (z != 0)"])
    assert len(small.get_axes()) == 1
    with pytest.raises(ValueError, match="unknown columns"):
        plot_belief_trajectories(trajs, columns=["nope"])
