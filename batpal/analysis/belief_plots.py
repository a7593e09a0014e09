"""One figure of belief trajectories: a row per true type, a column per view of the belief, a line per agent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from batpal.analysis.belief_trajectories import BeliefTrajectories
from batpal.analysis.belief_views import BeliefViews, belief_views, over_episodes

View = Callable[[BeliefViews, BeliefTrajectories], torch.Tensor | None]  # [episodes, T, N], None: not defined


def _is_psi(traj: BeliefTrajectories) -> bool:
    """Whether the episode's attacker is one of the types in Z (psi_k), so that (v, k) is its true type."""
    return traj.attack is None


COLUMNS: dict[str, View] = {
    "the true type": lambda views, traj: views.true_type if _is_psi(traj) else None,
    "an attack (z != 0)": lambda views, traj: views.attacked,
    "the true victim": lambda views, traj: views.victim[..., traj.victim] if traj.victim >= 0 else None,
    "the true severity": lambda views, traj: (
        views.severity[..., traj.severity - 1] if traj.severity > 0 and _is_psi(traj) else None
    ),
}


def plot_belief_trajectories(
    trajectories: Iterable[BeliefTrajectories], title: str | None = None, columns: Sequence[str] = tuple(COLUMNS)
) -> Figure:
    """Mean over episodes (band: +- one standard error) of each agent's belief in the true type, in an attack,
    in the true victim and in the true severity band (``columns``: a subset of ``COLUMNS``), over the steps.

    The victim's own line is dashed: psi_k (or the attack) acts in its slot, so its belief steers nothing.
    An attack from outside Z (``attack=``) has a victim but no severity band, so it has no true type either.
    """
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown columns {unknown}; known: {list(COLUMNS)}.")
    trajectories = list(trajectories)
    rows, cols = len(trajectories), len(columns)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.5 * rows), sharex=True, sharey=True, squeeze=False)
    for row, traj in zip(axes, trajectories, strict=True):
        views = belief_views(traj)
        for ax, name in zip(row, columns, strict=True):
            ax.set_title(f"{traj.label}\nbelief in {name}", fontsize=9)
            values = COLUMNS[name](views, traj)
            if values is None:
                why = "no attack" if traj.type_index == 0 else "the attack is no psi_k"
                ax.text(0.5, 0.5, f"not defined: {why}", ha="center", va="center", transform=ax.transAxes)
                continue
            _agent_lines(ax, values, traj.victim)
        drawn = next((ax for ax in row if ax.get_lines()), None)
        if drawn is not None:
            drawn.legend(fontsize=7, title=f"mean return {float(traj.returns.mean()):.1f}", title_fontsize=7)
        row[0].set_ylabel("belief")
    axes[0, 0].set_ylim(-0.02, 1.02)
    for ax in axes[-1]:
        ax.set_xlabel("step t")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _agent_lines(ax: plt.Axes, values: torch.Tensor, victim: int) -> None:
    """values [episodes, T, N]: one line per agent with its standard-error band."""
    mean, se = over_episodes(values)  # [T, N]
    t = torch.arange(mean.shape[0])
    for i in range(mean.shape[1]):
        style = {"linestyle": "--", "color": "grey"} if i == victim else {}
        label = f"agent {i}" + (" (victim)" if i == victim else "")
        (line,) = ax.plot(t, mean[:, i], label=label, **style)
        ax.fill_between(t, mean[:, i] - se[:, i], mean[:, i] + se[:, i], color=line.get_color(), alpha=0.2)
