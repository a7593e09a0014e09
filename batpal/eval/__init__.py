"""Evaluation: play a policy for whole episodes on a batched env and report returns and win rates."""

from batpal.eval.episodes import EvalResult, evaluate_policy
from batpal.eval.normalize import normalized_return

__all__ = ["EvalResult", "evaluate_policy", "normalized_return"]
