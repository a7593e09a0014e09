"""Stage ``calibrate``: worst-case adversaries against frozen pi0, whose harshest value is Vmin^v (eq. 3's lower
bound).

World 0 only (every non-victim plays pi0). R candidate adversaries (``calibrate.candidates``, each from its own
random initial weights) are trained together by PPO to minimise the team's value: the PPO term of eq. 14 on
world-0 steps, with no band. Candidate r is the "severity" slot r of the type space (types (v, r), drawn
uniformly per episode, no benign episodes), so each candidate attacks every victim and phi(0) (conditioned on the
type) is the critic of all of them. One PPO run can stall in a poor local optimum (on MPE a single worst case found
Vmin -77 in one seed and -120 in another on the same pi0); the minimum over R independent searches does not hang on
one draw. Shares the rollout machinery, the critics and the adversary's step with ``BATPALModule``.
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase

from batpal.game.takeover import JointPolicy
from batpal.game.types import TypePrior
from batpal.modules.game import ADVERSARY, GameModule, GameSetup
from batpal.nn.optim import adam
from batpal.objectives.critics import critic_loss

UPDATE_KEYS = (ADVERSARY, "state", "type", "step_count", "victim", "severity", "value_target")
UPDATE_KEYS += ("adv_mask_1", "adv_mask_0", "adversary_advantage")
NO_BAND = (0.0, 1.0)  # eq. 14 needs a band; with no V(0) estimate (NaN) its PPO term alone runs


class CalibrationModule(GameModule):
    """R candidate worst cases psi_1..psi_R and phi(0) against frozen pi0 in world 0, each on every victim (set)."""

    stage_name = "calibrate"

    def __init__(self, setup: GameSetup, candidates: int = 1) -> None:
        super().__init__(setup, K=candidates)
        self.save_hyperparameters(setup.hparams(candidates=candidates))
        # every episode attacked: benign episodes would teach no candidate anything
        self.prior = TypePrior.authors(self.space, benign_prob=0.0)
        self.adversaries = self._build_adversaries()
        # the team is pi0 in every env (world 0), and the worst case acts at every step whatever game.attack_prob
        self.joint = JointPolicy(self.pi0, self.pi0, self.adversaries, 1.0, self.space.members)
        self.phi0, self.norm0 = self._build_critic()

    def rollout_policy(self) -> TensorDictModuleBase:
        return self.joint

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [
            adam(self.phi0.parameters(), lr=self.ppo.critic_lr),
            *(adam(net.parameters(), lr=self.ppo.actor_lr) for net in self.adversaries.nets),  # one per candidate
        ]

    def values(self, td: TensorDictBase) -> torch.Tensor:
        return self.at_limit_zero(td, self.norm0.denormalize(self.phi0(self.critic_input(td))))

    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """GAE, then ``ppo_epochs`` x ``minibatches`` steps of the critic and of each candidate (PPO on world 0)."""
        opt_critic, *opt_adversaries = self.optimizers()
        world1 = torch.zeros_like(batch["world"], dtype=torch.bool)  # [B, T] no world 1 here
        candidates = list(range(1, self.K + 1))
        adv, target, _ = self.team_advantages(batch)
        batch.set("value_target", target)
        self.adversary_advantages(batch, adv, world1, candidates)
        self.update_normaliser(self.norm0, target, ~world1)
        flat = batch.select(*UPDATE_KEYS, strict=False).reshape(-1)
        logs: dict[str, Any] = {}
        for _ in range(self.ppo.ppo_epochs):
            chunks = torch.randperm(flat.numel()).chunk(self.ppo.minibatches) if self.ppo.minibatches > 1 else [None]
            for idx in chunks:
                mb = flat if idx is None else flat[idx]
                value_loss = critic_loss(self.phi0(self.critic_input(mb)), mb["value_target"], self.norm0)
                self.step(opt_critic, value_loss, "critic phi(0)")
                logs = {"loss_critic_0": value_loss.detach()}
                for r, rows in self.adversary_rows(mb, candidates).items():
                    loss, diagnostics = self.adversary_loss(
                        rows, r, {}, [NO_BAND] * self.space.n_sets, ppo_world="adv_mask_0", lam=self.game.barrier_lambda
                    )
                    self.step(opt_adversaries[r - 1], loss, f"worst-case candidate {r}")
                    logs[f"loss_adversary_{r}"] = loss.detach()
                    logs |= {f"ec_ppo/psi_{r}/{name}": value for name, value in diagnostics.items()}
        return logs
