"""Stage ``pretrain``: MAPPO with parameter sharing trains the reference policy pi0 (z = 0 always)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torchrl.data import LazyTensorStorage, SamplerWithoutReplacement, TensorDictReplayBuffer

from batpal.envs import make
from batpal.modules.rollout import RolloutModule
from batpal.nn import make_actor, make_critic
from batpal.nn.optim import adam
from batpal.objectives import build_mappo_loss
from batpal.objectives.guards import NonFiniteGuard

AGENTS = "agents"


def env_dims(env_name: str, seed: int, env_kwargs: dict[str, Any] | None = None) -> dict[str, int]:
    """Agents, observation, action and state sizes, read off a one-env instance's specs."""
    env = make(env_name, 1, seed, "cpu", **(env_kwargs or {}))
    try:
        obs = env.observation_spec[AGENTS, "observation"].shape
        return {
            "n_agents": int(obs[-2]),
            "obs_dim": int(obs[-1]),
            "n_actions": int(env.observation_spec[AGENTS, "action_mask"].shape[-1]),
            "state_dim": int(env.observation_spec["state"].shape[-1]),
        }
    finally:
        env.close()


class MAPPOModule(RolloutModule):
    """Actor and centralised critic with separate optimizers; PPO epochs over minibatches of one batch."""

    stage_name = "pretrain"

    def __init__(
        self,
        env_name: str,
        num_envs: int,
        rollout_steps: int,
        total_frames: int,
        seed: int,
        iters_per_epoch: int = 10,
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_epsilon: float = 0.2,
        entropy_coeff: float = 0.01,
        actor_lr: float = 5e-4,
        critic_lr: float = 5e-4,
        ppo_epochs: int = 5,
        minibatches: int = 1,
        max_grad_norm: float = 10.0,
        value_norm: bool = True,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(env_name, num_envs, rollout_steps, total_frames, iters_per_epoch, seed, env_kwargs)
        self.save_hyperparameters()
        dims = env_dims(env_name, seed, env_kwargs)
        self.dims = dims
        self.actor = make_actor(
            [(AGENTS, "observation")], dims["obs_dim"], dims["n_agents"], dims["n_actions"], hidden, activation
        )
        self.critic = make_critic(["state"], dims["state_dim"], dims["n_agents"], hidden, activation)
        self.loss = build_mappo_loss(
            self.actor,
            self.critic,
            gamma=gamma,
            gae_lambda=gae_lambda,
            clip_epsilon=clip_epsilon,
            entropy_coeff=entropy_coeff,
            value_norm=value_norm,
        )
        self.guard = NonFiniteGuard()
        self._buffer: TensorDictReplayBuffer | None = None
        self._buffer_shape: tuple[int, int] | None = None

    def _replay_buffer(self, size: int, minibatch: int, device: torch.device) -> TensorDictReplayBuffer:
        """One buffer reused across iterations: each batch is sampled without replacement, epoch by epoch."""
        if self._buffer is None or self._buffer_shape != (size, minibatch):
            self._buffer = TensorDictReplayBuffer(
                storage=LazyTensorStorage(size, device=device),
                sampler=SamplerWithoutReplacement(),
                batch_size=minibatch,
            )
            self._buffer_shape = (size, minibatch)
        return self._buffer

    def _sum_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        return self.trainer.strategy.reduce(value, reduce_op="sum") if self._trainer is not None else value

    def rollout_policy(self) -> TensorDictModuleBase:
        return self.actor

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        return [
            adam(self.actor.parameters(), lr=hp.actor_lr),
            adam(self.critic.parameters(), lr=hp.critic_lr),
        ]

    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """GAE once under no_grad, then ``ppo_epochs`` passes over ``minibatches`` shuffled minibatches."""
        hp = self.hparams
        opt_actor, opt_critic = self.optimizers()
        with torch.no_grad():
            self.loss.value_estimator(
                batch,
                params=self.loss.critic_network_params,
                target_params=self.loss.target_critic_network_params,
            )
        flat = batch.reshape(-1)
        minibatch = max(1, flat.numel() // max(1, hp.minibatches))
        buffer = self._replay_buffer(flat.numel(), minibatch, flat.device)
        buffer.empty()
        buffer.extend(flat)
        logs: dict[str, torch.Tensor] = {}
        for _ in range(hp.ppo_epochs):
            for _ in range(max(1, flat.numel() // minibatch)):
                out = self.loss(buffer.sample())
                actor_loss = out["loss_objective"] + out["loss_entropy"]
                critic_loss = out["loss_critic"]
                if not self.guard.ok(actor_loss, critic_loss, reduce=self._sum_over_ranks):
                    continue
                opt_actor.zero_grad()
                opt_critic.zero_grad()
                self.manual_backward(actor_loss + critic_loss)
                self.clip_gradients(opt_actor, hp.max_grad_norm, "norm")
                self.clip_gradients(opt_critic, hp.max_grad_norm, "norm")
                opt_actor.step()
                opt_critic.step()
                logs = {
                    "loss_actor": out["loss_objective"].detach(),
                    "loss_critic": critic_loss.detach(),
                    "entropy": out["entropy"].detach(),
                    "kl_approx": out["kl_approx"].detach(),
                    "clip_fraction": out["clip_fraction"].detach(),
                }
        logs["nonfinite_skips"] = torch.tensor(float(self.guard.skipped))
        return logs
