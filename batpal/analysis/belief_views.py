"""Readable views of a belief b_i: the mass on the true type, on "attacked" (any z != 0), on each victim and on
each severity band, per agent and step.

Softmax beliefs are distributions over Z, so each view is a sum of their entries. Sigmoid beliefs (the
authors' factored form: victim ++ severity, all zero when benign) are independent scores: a victim's or a
band's entry is read directly, "attacked" is the largest victim score and the true type (v, k) is the product
of its victim and band scores; these are scores in [0, 1], not probabilities that sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from batpal.analysis.belief_trajectories import BeliefTrajectories


@dataclass
class BeliefViews:
    """Per episode, step and agent (NaN after an episode's end, like the beliefs)."""

    true_type: torch.Tensor  # [episodes, T, N] mass on the episode's true type z
    attacked: torch.Tensor  # [episodes, T, N] mass on z != 0
    victim: torch.Tensor  # [episodes, T, N, N] mass on "victim is v" (last dim: v)
    severity: torch.Tensor  # [episodes, T, N, K] mass on "band is k" (last dim: k - 1)


def belief_views(traj: BeliefTrajectories) -> BeliefViews:
    """The four views of ``traj``'s beliefs (see the module docstring for the sigmoid form)."""
    b, n, K = traj.beliefs, traj.n_agents, traj.K  # [E, T, N, D]
    if traj.mode == "softmax":
        per_type = b[..., 1:].unflatten(-1, (n, K))  # [E, T, N, victim, band]
        victim, severity = per_type.sum(-1), per_type.sum(-2)  # [E, T, N, N], [E, T, N, K]
        attacked = 1.0 - b[..., 0]
        true_type = b[..., traj.type_index]
    elif traj.mode == "sigmoid":
        victim, severity = b[..., :n], b[..., n:]
        attacked = victim.max(-1).values
        if traj.type_index == 0:
            true_type = 1.0 - attacked
        else:
            true_type = victim[..., traj.victim] * severity[..., traj.severity - 1]
    else:
        raise ValueError(f"unknown belief mode {traj.mode!r}; known: 'softmax', 'sigmoid'.")
    return BeliefViews(true_type=true_type, attacked=attacked, victim=victim, severity=severity)


def over_episodes(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard error over the first (episode) dim, ignoring the NaN steps after an episode's end."""
    count = (~x.isnan()).sum(0)
    n = count.clamp(min=1)
    mean = torch.where(count > 0, x.nansum(0) / n, float("nan"))  # NaN where every episode has ended
    var = ((x - mean).nan_to_num() ** 2).sum(0) / (n - 1).clamp(min=1)
    return mean, (var / n).sqrt()
