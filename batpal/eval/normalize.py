"""The paper's normalised return (R - lo) / (hi - lo), with the bounds of paper-results.md."""

from __future__ import annotations

from batpal.envs.registry import check_env_name


def normalized_return(env_name: str, episode_return: float) -> float | None:
    """Normalise with the env's paper bounds; None where the paper reports win rates instead (SMAC)."""
    bounds = check_env_name(env_name).return_bounds
    if bounds is None:
        return None
    lo, hi = bounds
    return (episode_return - lo) / (hi - lo)
