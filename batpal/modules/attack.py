"""RL attack training (ACT, DYN-1, DYN-2): PPO for one adversary on the victim's slot against a frozen defender.

Each episode draws its victim uniformly over the agents (``VictimDraw``); the defender's team acts for everyone
and the adversary's action replaces the victim's (``AttackedTeam``). The adversary's reward is
r_adv = -r_team - c * d with d = -log pi0(a_v | o_v) (``batpal.objectives.detectability``); advantages come from
TorchRL's GAE on a centralised critic over (state, victim one-hot, t / T), PopArt-normalised, and the policy
step is TorchRL's ``ClipPPOLoss`` on the stored adversary inputs. Manual optimization, one optimizer each.
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torch import nn
from torchrl.envs import StepCounter, TransformedEnv
from torchrl.modules import MLP, PopArtValueNorm
from torchrl.objectives import ClipPPOLoss

from batpal.attacks.trained import (
    ADVERSARY,
    check_kind,
    make_attack_actor,
    make_attack_net,
    make_attack_policy,
)
from batpal.config.schema import AttackStage, EnvConfig, ModelConfig, PPOConfig
from batpal.eval.attacked_team import AttackedTeam
from batpal.eval.defenders import Defender, GameDefender, load_defender
from batpal.game.victim_draw import VictimDraw
from batpal.modules.rollout import RolloutModule
from batpal.nn.activations import activation_class
from batpal.nn.actor import actor_net
from batpal.nn.optim import adam
from batpal.objectives.critics import critic_loss, team_gae
from batpal.objectives.detectability import adversary_reward, check_detectability_unit, detectability


def single_victim(defender: Defender) -> Defender:
    """``defender`` set to one victim: RL attack training is single-victim only (a BATPAL-family run trained with
    game.victims = m > 1 is refused; a MAPPO team is attacked one victim at a time whatever its config says)."""
    if isinstance(defender, GameDefender) and defender.victims > 1:
        raise ValueError(
            f"batpal.attack is single-victim only: {defender.run_dir} was trained with game.victims="
            f"{defender.victims}. Evaluate it against m victims with `python -m batpal.evaluate` (single-victim "
            "attacks, psi_k or attack.pt, play each agent of the victim set)."
        )
    defender.set_victims(1)
    return defender


class AttackModule(RolloutModule):
    """The adversary (its MLP ``net``), its critic and their optimizers; the defender and pi0 stay frozen."""

    stage_name = "attack"

    def __init__(
        self, defender: str, attack: AttackStage, ppo: PPOConfig, model: ModelConfig, *, num_envs: int, seed: int,
        detectability_unit: float = 1.0,
    ) -> None:
        kind, c, hidden, activation = attack.name, attack.c, model.hidden, model.activation
        check_kind(kind)
        if not c >= 0:
            raise ValueError(f"attack.c (the detectability weight) must be >= 0, got {c}.")
        check_detectability_unit(detectability_unit)
        team = single_victim(load_defender(defender))
        env = EnvConfig(team.env_name, num_envs, team.max_episode_steps, dict(team.env_kwargs or {}))
        super().__init__(env, ppo.rollout_steps, attack.frames, attack.iters_per_epoch, seed)
        self.ppo, self.c = ppo, float(c) * float(detectability_unit)  # the weight in this env's reward units
        plain = {"defender": defender, "attack": asdict(attack), "ppo": asdict(ppo), "model": asdict(model)}
        # plain containers: checkpoints load with weights_only
        self.save_hyperparameters({**plain, "seed": seed, "detectability_unit": float(detectability_unit)})
        self.defender = team  # not an nn.Module: its frozen networks are registered below
        self.dims, self.gamma, self.max_episode_steps = team.dims, team.gamma, team.max_episode_steps
        n, state_dim = self.dims["n_agents"], self.dims["state_dim"]
        self.team = team.policy().requires_grad_(False)  # frozen defender, every agent
        self.reference = team.reference_policy().requires_grad_(False)  # frozen pi0, for detectability
        self.net = make_attack_net(self.dims, hidden, activation)
        if attack.warm_start:
            self.net.load_state_dict(actor_net(self.reference).mlp.state_dict())  # starts as pi0 (same input)
        self.actor = make_attack_actor(self.net)
        self.attack = make_attack_policy(self.actor, n)
        self.critic = MLP(
            in_features=state_dim + n + 1,
            out_features=1,
            num_cells=list(hidden),
            activation_class=activation_class(activation),
        )
        self.norm = PopArtValueNorm(shape=1)  # the critic predicts normalised values (MAPPO's ValueNorm)
        self.loss = ClipPPOLoss(
            self.actor, None, clip_epsilon=ppo.clip_epsilon, entropy_coeff=ppo.entropy_coeff, normalize_advantage=True
        )
        self.loss.set_keys(action=(ADVERSARY, "action"), sample_log_prob=(ADVERSARY, "log_prob"))

    # -- rollouts ------------------------------------------------------------------------------------
    def decorate_env(self, env: TransformedEnv, rank: int) -> TransformedEnv:
        """The defender's transforms, then a new uniform victim at every reset and t for the critic."""
        seed = self.seed + 1000 * rank
        n = self.num_envs
        env = self.defender.decorate(env, torch.zeros(n, dtype=torch.long, device=env.device), seed + 2)
        env.append_transform(VictimDraw.for_defender(self.defender, n, seed + 1, env.device))
        env.append_transform(StepCounter())
        return env

    def rollout_policy(self) -> TensorDictModuleBase:
        return AttackedTeam(self.team, self.attack)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [
            adam(self.net.parameters(), lr=self.ppo.actor_lr),
            adam(self.critic.parameters(), lr=self.ppo.critic_lr),
        ]

    # -- one PPO iteration ---------------------------------------------------------------------------
    @torch.no_grad()
    def adversary_rewards(self, batch: TensorDictBase) -> tuple[torch.Tensor, torch.Tensor]:
        """(d [B, T], r_adv [B, T, 1]): the victim's detectability and the adversary's shaped reward."""
        detect = detectability(self.reference, batch)
        return detect, adversary_reward(batch.get(("next", "reward")), detect.unsqueeze(-1), self.c)

    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """GAE on r_adv once under no_grad, then ``ppo_epochs`` passes over shuffled minibatches."""
        hp = self.ppo
        opt_actor, opt_critic = self.optimizers()
        detect, reward = self.adversary_rewards(batch)
        with torch.no_grad():
            value, next_value = self._values(batch), self._values(batch.get("next"))  # [B, T, 1] real scale
            advantage, target = team_gae(
                value, next_value, reward, batch["next", "done"], batch["next", "terminated"], self.gamma, hp.gae_lambda
            )
            self.norm.update(self.all_gather(target).reshape(-1, 1))  # every rank's targets: identical statistics
        batch.set("advantage", advantage)
        batch.set("value_target", target)
        flat = batch.reshape(-1)
        logs: dict[str, torch.Tensor] = {}
        for _ in range(hp.ppo_epochs):
            for idx in torch.randperm(flat.numel(), device=flat.device).chunk(max(1, hp.minibatches)):
                mb = flat[idx]
                out = self.loss(mb.select(ADVERSARY, "advantage"))
                actor_loss = out["loss_objective"] + out["loss_entropy"]
                self.guard.check_kl("the actor", out["kl_approx"], self.ppo.max_kl)
                value_loss = critic_loss(self.critic(self._critic_input(mb)), mb["value_target"], self.norm)
                self.actor_critic_step(opt_actor, opt_critic, actor_loss, value_loss)
                logs = {
                    "loss_actor": out["loss_objective"].detach(),
                    "loss_critic": value_loss.detach(),
                    "entropy": out["entropy"].detach(),
                    "kl_approx": out["kl_approx"].detach(),
                    "clip_fraction": out["clip_fraction"].detach(),
                }
        logs["detectability"] = detect.mean()
        logs["adversary_reward"] = reward.mean()
        return logs

    def _critic_input(self, td: TensorDictBase) -> torch.Tensor:
        """(state, victim one-hot, t / episode limit) [.., S + N + 1]."""
        state = td.get("state")
        victim = nn.functional.one_hot(td.get("victim").clamp(min=0), self.dims["n_agents"]).to(state.dtype)
        time = td.get("step_count").to(state.dtype) / self.max_episode_steps
        return torch.cat([state, victim, time], dim=-1)

    def _values(self, td: TensorDictBase) -> torch.Tensor:
        """V of the adversary's return, real scale; exactly 0 at the episode limit (nothing left to earn)."""
        value = self.norm.denormalize(self.critic(self._critic_input(td)))
        return torch.where(td.get("step_count") >= self.max_episode_steps, torch.zeros_like(value), value)

