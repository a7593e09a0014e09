"""Stage ``calibrate``: the worst-case adversary against frozen pi0, whose value is Vmin^v (eq. 3's lower bound).

World 0 only (every non-victim plays pi0), one adversary (K = 1) trained by PPO to minimise the team's value: the
PPO term of eq. 14 on world-0 steps, with no band. phi(0) is its critic. Shares the rollout machinery, the
critics and the adversary's step with ``BATPALModule`` (``GameModule``).
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase

from batpal.game.takeover import JointPolicy
from batpal.modules.game import ADVERSARY, GameModule, GameSetup
from batpal.nn.optim import adam
from batpal.objectives.critics import critic_loss

UPDATE_KEYS = (ADVERSARY, "state", "type", "step_count", "victim", "severity", "value_target")
UPDATE_KEYS += ("adv_mask_1", "adv_mask_0", "adversary_advantage")
NO_BAND = (0.0, 1.0)  # eq. 14 needs a band; with no V(0) estimate (NaN) its PPO term alone runs


class CalibrationModule(GameModule):
    """psi (K = 1) and phi(0) against frozen pi0 in world 0; the worst case of each victim (set) v."""

    stage_name = "calibrate"

    def __init__(self, setup: GameSetup) -> None:
        super().__init__(setup, K=1)
        self.save_hyperparameters(setup.hparams())
        self.adversaries = self._build_adversaries()
        # the team is pi0 in every env (world 0), and the worst case acts at every step whatever game.attack_prob
        self.joint = JointPolicy(self.pi0, self.pi0, self.adversaries, 1.0, self.space.members)
        self.phi0, self.norm0 = self._build_critic()

    def rollout_policy(self) -> TensorDictModuleBase:
        return self.joint

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [
            adam(self.adversaries.parameters(), lr=self.ppo.actor_lr),
            adam(self.phi0.parameters(), lr=self.ppo.critic_lr),
        ]

    def values(self, td: TensorDictBase) -> torch.Tensor:
        return self.at_limit_zero(td, self.norm0.denormalize(self.phi0(self.critic_input(td))))

    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """GAE, then ``ppo_epochs`` x ``minibatches`` steps of the critic and of the adversary (PPO on world 0)."""
        opt_adversary, opt_critic = self.optimizers()
        world1 = torch.zeros_like(batch["world"], dtype=torch.bool)  # [B, T] no world 1 here
        adv, target, _ = self.team_advantages(batch)
        batch.set("value_target", target)
        self.adversary_advantages(batch, adv, world1, [1])
        self.update_normaliser(self.norm0, target, ~world1)
        flat = batch.select(*UPDATE_KEYS, strict=False).reshape(-1)
        logs: dict[str, Any] = {}
        for _ in range(self.ppo.ppo_epochs):
            chunks = torch.randperm(flat.numel()).chunk(self.ppo.minibatches) if self.ppo.minibatches > 1 else [None]
            for idx in chunks:
                mb = flat if idx is None else flat[idx]
                value_loss = critic_loss(self.phi0(self.critic_input(mb)), mb["value_target"], self.norm0)
                self.step(opt_critic, value_loss, "critic phi(0)")
                loss, diagnostics = self.adversary_loss(
                    self.adversary_rows(mb, [1])[1], 1, {}, [NO_BAND] * self.space.n_sets, ppo_world="adv_mask_0",
                    lam=self.game.barrier_lambda,
                )
                self.step(opt_adversary, loss, "worst-case adversary")
                logs = {"loss_critic_0": value_loss.detach(), "loss_adversary_1": loss.detach()}
                logs |= {f"ec_ppo/psi_1/{name}": value for name, value in diagnostics.items()}
        return logs
