"""MAPPO for the reference policy pi0: TorchRL's MAPPOLoss and multi-agent GAE, re-keyed to our layout."""

from __future__ import annotations

import torch
import torch.distributed as dist
from tensordict.nn import TensorDictModule
from torchrl.modules import PopArtValueNorm, ProbabilisticActor
from torchrl.objectives import ValueEstimators
from torchrl.objectives.multiagent import MAPPOLoss

AGENTS = "agents"


class RankSyncedPopArt(PopArtValueNorm):
    """PopArt whose statistics come from every DDP rank's targets: TorchRL's MAPPOLoss updates them per minibatch
    from the local targets alone, so the ranks' normalisers (and critic losses) drifted apart under DDP. Alone,
    exactly ``PopArtValueNorm``."""

    def update(self, target: torch.Tensor) -> None:
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            parts = [torch.empty_like(target) for _ in range(dist.get_world_size())]
            dist.all_gather(parts, target.detach().contiguous())  # every rank samples minibatches of one size
            target = torch.cat(parts)
        super().update(target)


def build_mappo_loss(
    actor: ProbabilisticActor,
    critic: TensorDictModule,
    *,
    gamma: float,
    gae_lambda: float,
    clip_epsilon: float,
    entropy_coeff: float,
    value_norm: bool = True,
    normalize_advantage: bool = True,
) -> MAPPOLoss:
    """Clip loss on the team advantage (shared reward broadcast to agents), critic on normalised targets.

    The critic loss is Huber (smooth L1) on PopArt-normalised targets; ``separate_losses`` keeps the
    critic loss from reaching the actor, so actor and critic have separate optimizers.
    """
    loss = MAPPOLoss(
        actor,
        critic,
        clip_epsilon=clip_epsilon,
        entropy_coeff=entropy_coeff,
        value_norm=RankSyncedPopArt(shape=1) if value_norm else None,
        loss_critic_type="smooth_l1",
        separate_losses=True,
        normalize_advantage=normalize_advantage,  # per agent: MAPPOLoss excludes the agent dim
    )
    loss.set_keys(
        action=(AGENTS, "action"),
        sample_log_prob=(AGENTS, "action_log_prob"),
        value=(AGENTS, "state_value"),
        advantage=(AGENTS, "advantage"),
        value_target=(AGENTS, "value_target"),
        reward="reward",
        done="done",
        terminated="terminated",
    )
    loss.make_value_estimator(ValueEstimators.MAGAE, gamma=gamma, lmbda=gae_lambda)
    return loss
