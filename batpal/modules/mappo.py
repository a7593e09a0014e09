"""Stage ``pretrain``: MAPPO with parameter sharing trains the reference policy pi0 (z = 0 always)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torchrl.data import LazyTensorStorage, SamplerWithoutReplacement, TensorDictReplayBuffer

from batpal.config.schema import EnvConfig, ModelConfig, PPOConfig
from batpal.envs import make
from batpal.modules.rollout import RolloutModule
from batpal.nn import make_actor, make_critic
from batpal.nn.optim import adam
from batpal.objectives import build_mappo_loss

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
        self, env: EnvConfig, ppo: PPOConfig, model: ModelConfig, *, total_frames: int, iters_per_epoch: int, seed: int
    ) -> None:
        super().__init__(env, ppo.rollout_steps, total_frames, iters_per_epoch, seed)
        self.ppo = ppo
        plain = {"env": asdict(env), "ppo": asdict(ppo), "model": asdict(model)}
        self.save_hyperparameters({**plain, "frames": total_frames, "seed": seed})  # loadable with weights_only
        dims = env_dims(env.name, seed, env.kwargs)
        self.dims = dims
        n, obs, n_act = dims["n_agents"], dims["obs_dim"], dims["n_actions"]
        self.actor = make_actor([(AGENTS, "observation")], obs, n, n_act, model.hidden, model.activation)
        self.critic = make_critic(["state"], dims["state_dim"], n, model.hidden, model.activation)
        self.loss = build_mappo_loss(
            self.actor,
            self.critic,
            gamma=ppo.gamma,
            gae_lambda=ppo.gae_lambda,
            clip_epsilon=ppo.clip_epsilon,
            entropy_coeff=ppo.entropy_coeff,
            value_norm=ppo.value_norm,
        )
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

    def rollout_policy(self) -> TensorDictModuleBase:
        return self.actor

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [
            adam(self.actor.parameters(), lr=self.ppo.actor_lr),
            adam(self.critic.parameters(), lr=self.ppo.critic_lr),
        ]

    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """GAE once under no_grad, then ``ppo_epochs`` passes over ``minibatches`` shuffled minibatches."""
        hp = self.ppo
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
                self.guard.check_kl("the actor", out["kl_approx"], self.ppo.max_kl)
                critic_loss = out["loss_critic"]
                self.actor_critic_step(opt_actor, opt_critic, actor_loss, critic_loss)
                logs = {
                    "loss_actor": out["loss_objective"].detach(),
                    "loss_critic": critic_loss.detach(),
                    "entropy": out["entropy"].detach(),
                    "kl_approx": out["kl_approx"].detach(),
                    "clip_fraction": out["clip_fraction"].detach(),
                }
        return logs
