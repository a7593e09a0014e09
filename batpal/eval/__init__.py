"""Evaluation: whole episodes of a policy, of a type of the game, or of a frozen defender under an attack.

``episodes`` holds the one episode loop; ``defenders`` / ``attacked_team`` the frozen teams and their hijacked slot;
``attacked`` a defender under an attack; ``game_eval`` a type of the game; ``inputs`` / ``run`` the cross table of
``python -m batpal.evaluate`` (``cross_table``, ``heatmap``, ``learning_curves``); ``normalize`` the paper's bounds.
"""

from batpal.eval.episodes import EvalResult, evaluate_policy
from batpal.eval.normalize import normalized_return

__all__ = ["EvalResult", "evaluate_policy", "normalized_return"]
