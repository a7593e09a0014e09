"""Belief loss for chi (section 4.2: cross-entropy against the true type), its accuracy, and teacher forcing.

Types are indices into Z: 0 = benign, 1 + v K + (k - 1) = (victim v, severity k), |Z| = 1 + N K (v a victim
set and N the number of sets with several victims, ``TypeSpace``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from batpal.nn.belief import BeliefMode

Targets = Tensor | Callable[[Tensor], Tensor]


def _masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of ``values`` [.., N] over ``mask`` (broadcast); 0, not NaN, when the mask is empty."""
    if mask is None:
        return values.mean()
    mask = mask.expand_as(values)
    return torch.where(mask, values, 0.0).sum() / mask.sum().clamp(min=1)


def belief_loss(
    logits: Tensor,
    true_type: Tensor,
    mode: BeliefMode = "softmax",
    targets: Targets | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Each agent's belief against the team's true type z, averaged over the valid agent-steps.

    ``softmax``: cross-entropy over Z on ``true_type`` (the paper). ``sigmoid``: binary cross-entropy against
    the factored target [.., N + K] (victim one-hot ++ severity one-hot, zeros when benign; the authors' code),
    given as ``targets`` (a tensor [.., D] or [.., N, D], or a function of ``true_type``), mean over D too.
    Shapes: ``logits`` [.., N, D], ``true_type`` [..] long, ``mask`` [.., N] bool.
    """
    true_type = true_type.unsqueeze(-1).expand(logits.shape[:-1])  # [.., N]
    if mode == "softmax":
        per_agent = -logits.log_softmax(-1).gather(-1, true_type.unsqueeze(-1)).squeeze(-1)  # [.., N]
    elif mode == "sigmoid":
        if targets is None:
            raise ValueError("sigmoid beliefs need the factored targets (a tensor or a function of the type).")
        target = targets(true_type[..., 0]) if callable(targets) else targets  # [.., D] or [.., N, D]
        if target.dim() == logits.dim() - 1:
            target = target.unsqueeze(-2)
        target = target.to(logits.dtype).expand_as(logits)  # [.., N, D]
        per_agent = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(-1)  # [.., N]
    else:
        raise ValueError(f"unknown belief mode {mode!r}; known: 'softmax', 'sigmoid'.")
    return _masked_mean(per_agent, mask)


def predicted_type(belief: Tensor, mode: BeliefMode = "softmax", n_sets: int | None = None) -> Tensor:
    """Most likely type index [.., N] from probabilities [.., N, D]; sigmoid: benign if all < 0.5, else (v, k).

    ``n_sets``: the victim sets heading the sigmoid form (default N, one victim per set)."""
    if mode == "softmax":
        return belief.argmax(-1)
    n_victims = belief.shape[-2] if n_sets is None else n_sets
    n_severities = belief.shape[-1] - n_victims
    victim = belief[..., :n_victims].argmax(-1)  # [.., N]
    severity = belief[..., n_victims:].argmax(-1)  # [.., N], k - 1
    benign = (belief < 0.5).all(-1)  # [.., N]
    return torch.where(benign, 0, 1 + victim * n_severities + severity)


@torch.no_grad()
def belief_accuracy(
    belief: Tensor,
    true_type: Tensor,
    mode: BeliefMode = "softmax",
    mask: Tensor | None = None,
    n_sets: int | None = None,
) -> float:
    """Fraction of valid agent-steps whose most likely type is the true one (for logging; 0.0 if none valid)."""
    hit = predicted_type(belief, mode, n_sets) == true_type.unsqueeze(-1)  # [.., N]
    return float(_masked_mean(hit.float(), mask))


def teacher_forcing_prob(progress: float, until: float = 0.5) -> float:
    """The authors' schedule: P(policy sees the true type) falls linearly 1 -> 0 over [0, until], then 0."""
    if until <= 0:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - progress / until)))


def mix_belief(belief: Tensor, true_one_hot: Tensor, prob: float, generator: torch.Generator | None = None) -> Tensor:
    """Policy input [.., N, D]: the true type's encoding with probability ``prob``, else the (detached) belief.

    One draw per env and step (shared by its agents). The belief is detached: chi is trained only by its own
    loss (section 4.2); the policy takes b_i as an input. ``true_one_hot`` is [.., D] or [.., N, D] (one-hot
    over Z for softmax beliefs, the factored target for sigmoid ones). Store the result with the rollout:
    PPO must recompute log-probs on the input the policy acted on.
    """
    batch = belief.shape[:-2]  # [..]
    device = generator.device if generator is not None else belief.device
    use_true = torch.rand(batch, generator=generator, device=device).to(belief.device) < prob  # [..]
    truth = true_one_hot.to(belief.dtype)
    if truth.dim() == belief.dim() - 1:
        truth = truth.unsqueeze(-2)
    return torch.where(use_true[..., None, None], truth.expand_as(belief), belief.detach())  # [.., N, D]
