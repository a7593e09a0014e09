"""Team advantages with TorchRL's GAE and the critics' Huber loss on PopArt-normalised targets."""

from __future__ import annotations

import torch
from torch import nn
from torchrl.modules import PopArtValueNorm
from torchrl.objectives.value.functional import vec_generalized_advantage_estimate


def team_gae(
    value: torch.Tensor,
    next_value: torch.Tensor,
    reward: torch.Tensor,
    done: torch.Tensor,
    terminated: torch.Tensor,
    gamma: float,
    lmbda: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(advantage, value target) [B, T, 1] from real-scale values; truncation bootstraps, termination does not."""
    return vec_generalized_advantage_estimate(gamma, lmbda, value, next_value, reward, done, terminated, time_dim=-2)


def critic_loss(prediction: torch.Tensor, target: torch.Tensor, norm: PopArtValueNorm) -> torch.Tensor:
    """Huber loss between a critic that predicts normalised values and the normalised target (MAPPO's
    ValueNorm: the critic's output scale stays ~1 however large the returns); 0 on an empty selection."""
    if prediction.numel() == 0:
        return prediction.sum() * 0.0
    return nn.functional.smooth_l1_loss(prediction, norm.normalize(target.detach()))


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` where ``mask``; 0 (still in the graph) when the mask is empty."""
    mask = mask.to(x.dtype)
    return (x * mask).sum() / mask.sum().clamp_min(1.0)
