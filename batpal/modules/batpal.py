"""Stage ``adversarial``: BATPAL's Algorithm 1 as one LightningModule with manual optimization.

One ``training_step`` = one iteration: the collector plays both worlds with the joint policy (belief GRU ->
policy input -> pi_omega / pi0 with the victim taken over by psi_k); ``update`` then runs GAE and eq. 13's
V_hat(0), and the steps of Algorithm 1 in the paper's order, each with its own optimizer: critics phi(1) and
phi(0), belief chi, policy omega (eq. 17), adversaries psi_k (EC-PPO, eq. 14 and 16). alpha (psi_k's lr) >= beta
(omega's) is the two-timescale condition. With ``game.victims = m > 1`` (appendix D.5) v is a victim set.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase, TensorDictSequential
from torchrl.objectives.multiagent import MAPPOLoss

from batpal.config.alpha import alpha
from batpal.game import Bands
from batpal.game.belief_input import PolicyBeliefInput
from batpal.game.takeover import JointPolicy
from batpal.game.value_zero import TypeValueZero, value_zero_stats
from batpal.game.value_zero_episodes import EpisodeCarry, finished_returns, finished_value_zero
from batpal.game.world_belief import WorldOneBelief
from batpal.modules.game import ADVERSARY, AGENTS, GameModule, GameSetup, standardise
from batpal.modules.game_metrics import finished_by_type
from batpal.nn.actor import AgentActorNet, make_actor
from batpal.nn.belief import BeliefModule
from batpal.nn.optim import adam
from batpal.nn.warm_start import load_fixed_adversaries, warm_start_from_reference
from batpal.objectives.belief import belief_accuracy, belief_loss, teacher_forcing_prob
from batpal.objectives.critics import critic_loss, masked_mean

UPDATE_KEYS = (  # what the critic, omega and psi_k losses read (the rest of the batch is not copied per epoch)
    *((AGENTS, key) for key in ("observation", "policy_belief", "action_mask", "action", "action_log_prob")),
    *((AGENTS, "advantage"), ADVERSARY, "state", "type", "step_count", "world", "victim", "severity"),
    *("value_target", "team_mask", "adv_mask_1", "adv_mask_0", "adversary_advantage"),
)


class BATPALModule(GameModule):
    """pi_omega, chi, phi(1), phi(0) and psi_1..psi_K trained simultaneously against frozen pi0 (Algorithm 1)."""

    stage_name = "adversarial"

    def __init__(self, setup: GameSetup, vmax: float, vmin: float | Sequence[float]) -> None:
        game, model, env, ppo, seed = setup.game, setup.model, setup.env, setup.ppo, setup.seed
        K = len(game.fixed_adversaries) or game.K
        super().__init__(setup, K)
        self.save_hyperparameters(setup.hparams(vmax=vmax, vmin=vmin))
        self.bands = Bands(vmax, vmin, K, self.space.n_sets)  # per victim set (per victim when m = 1)
        n, obs, n_act = self.dims["n_agents"], self.dims["obs_dim"], self.dims["n_actions"]
        self.belief = BeliefModule(n, obs, n_act, self.space.size, game.belief_mode, game.belief_hidden,
                                   n_sets=self.space.n_sets)
        self.belief_sequence = self.belief.sequence_module()
        self.policy_input = PolicyBeliefInput(self.space, game.belief_mode, game.belief_source, seed)
        d_belief = self.belief.out_dim
        omega = AgentActorNet(obs + d_belief, n, n_act, model.hidden, model.activation)
        if game.warm_start:
            warm_start_from_reference(omega, self.pi0, obs, d_belief)
        self.omega = make_actor([(AGENTS, "observation"), (AGENTS, "policy_belief")], 0, n, n_act, net=omega)
        self.adversaries = self._build_adversaries()
        self.learn_adversaries = not game.fixed_adversaries
        if game.fixed_adversaries:  # KT / Fixed Types: frozen attacks take the victim's slot, none of them learns
            load_fixed_adversaries(self.adversaries, game.fixed_adversaries, env.name)
        elif game.adversary_warm_start and not self.adversaries.warm_start_from(self.pi0.mlp):
            warnings.warn("psi_k's widths differ from pi0's: adversaries start from random weights.", stacklevel=2)
        self.joint = JointPolicy(omega, self.pi0, self.adversaries, game.attack_prob, self.space.members)
        (self.phi1, self.norm1), (self.phi0, self.norm0) = self._build_critic(), self._build_critic()
        self.omega_loss = MAPPOLoss(self.omega, None, clip_epsilon=ppo.clip_epsilon,
                                    entropy_coeff=ppo.entropy_coeff, normalize_advantage=False, reduction="none")
        self.omega_loss.set_keys(
            action=(AGENTS, "action"), sample_log_prob=(AGENTS, "action_log_prob"), advantage=(AGENTS, "advantage")
        )
        self.v0_ema: dict[tuple[int, int], float] = {}  # smoothed V_hat(0) per (victim, k), see ``_smoothed``
        self.v0_carry: EpisodeCarry | None = None  # game.v0_estimate=episodes: world-0 episodes across batches

    # -- rollouts ------------------------------------------------------------------------------------
    def world_of_envs(self) -> torch.Tensor:
        world = torch.zeros(self.num_envs, dtype=torch.long)
        world[: max(1, round(self.num_envs * self.game.world1_fraction))] = 1
        return world

    def decorate_env(self, env, rank: int):
        """The type draw with the world split, then the belief's recurrent state."""
        env = super().decorate_env(env, rank)
        env.append_transform(self.belief.primer())
        return env

    def before_collect(self) -> None:
        """Teacher forcing for the next collection from the frames so far (1 -> 0 over ``teacher_forcing_until``
        of the budget): derived from the checkpointed ``frames``, so a resumed run collects with the same value."""
        progress = self.frames / self.total_frames
        self.policy_input.teacher_forcing = teacher_forcing_prob(progress, self.game.teacher_forcing_until)

    def rollout_policy(self) -> TensorDictModuleBase:
        return TensorDictSequential(WorldOneBelief(self.belief), self.policy_input, self.joint)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [
            adam(self.joint.omega.parameters(), lr=self.ppo.actor_lr),  # beta, eq. 17
            adam([*self.phi1.parameters(), *self.phi0.parameters()], lr=self.ppo.critic_lr),
            adam(self.belief.parameters(), lr=self.game.belief_lr),
            *(adam(net.parameters(), lr=alpha(self.game)) for net in self.adversaries.nets),  # alpha, eq. 16
        ]  # frozen (fixed) adversaries keep their optimizers, never stepped, so checkpoints have one layout

    # -- one iteration of Algorithm 1 -----------------------------------------------------------------
    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        opt_omega, opt_critic, opt_belief, *opt_adv = self.optimizers()
        drawn, ks = self._adversaries_to_update()
        world1 = batch["world"] == 1  # [B, T]
        adv, target, next_value = self.team_advantages(batch)  # GAE, [B, T, 1]
        v0_stats = self._value_zero(batch, next_value, ~world1)  # eq. 13
        v0 = self._smoothed({key: stats.mean for key, stats in v0_stats.items()})  # fresh or carried over
        self._store_advantages(batch, adv, target, world1, ks)
        self.update_normaliser(self.norm1, target, world1)
        self.update_normaliser(self.norm0, target, ~world1)
        logs = self.step_belief(batch[world1[:, 0]], opt_belief)
        for rows in self._minibatch_rows(batch, ks):
            logs |= self.step_critics(rows, opt_critic)
            logs |= self.step_policy(rows["team"], opt_omega)
            logs |= self.step_adversaries(rows["adversary"], v0, opt_adv)
        return logs | self._game_metrics(batch, v0, drawn if len(ks) == 1 else 0) | self._v0_noise(v0_stats)

    def step_critics(self, rows: dict[str, Any], opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        """phi(1) and phi(0), each on its own world's rows: Huber loss on PopArt-normalised targets."""
        losses = {
            "loss_critic_1": critic_loss(self.phi1(rows["x1"]), rows["target1"], self.norm1),
            "loss_critic_0": critic_loss(self.phi0(rows["x0"]), rows["target0"], self.norm0),
        }
        self.step(opt, losses["loss_critic_1"] + losses["loss_critic_0"], "critics phi(1) + phi(0)")
        return {name: loss.detach() for name, loss in losses.items()}

    def step_belief(self, world1: TensorDictBase, opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        """One cross-entropy step of chi on the world-1 histories [B1, T] against the true type.

        ``game.belief_batch`` < 1: on that share of the histories, drawn afresh each iteration from the
        checkpointed schedule generator (the GRU's backward through time is a fifth of an iteration's compute).
        """
        histories = world1.select(*self.belief_sequence.in_keys, "type")
        n = histories.shape[0]
        take = max(1, round(n * self.game.belief_batch))
        if take < n:
            histories = histories[torch.randperm(n, generator=self.schedule)[:take].to(histories.device)]  # a copy
        else:
            histories = histories.clone()  # the sequence module writes its outputs into it
        td = self.belief_sequence(histories)
        z = td["type"]
        targets = self.space.one_hot(z) if self.game.belief_mode == "softmax" else self.space.factored(z)
        loss = belief_loss(td[AGENTS, "belief_logits"], z, self.game.belief_mode, targets=targets)
        self.step(opt, loss, "belief chi")
        accuracy = belief_accuracy(world1[AGENTS, "belief"], world1["type"], self.game.belief_mode,
                                   n_sets=self.space.n_sets)
        return {"loss_belief": loss.detach(), "belief_accuracy": torch.tensor(accuracy)}

    def step_policy(self, team: TensorDictBase, opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        """pi_omega (eq. 17): MAPPO's clip loss on the world-1 slots the team itself played."""
        out = self.omega_loss(team.select(AGENTS, "state"))
        mask = team["team_mask"]
        loss = masked_mean(out["loss_objective"], mask) + masked_mean(out["loss_entropy"], mask)
        if "kl_approx" in out.keys():  # TorchRL's mean over the batch
            self.guard.check_kl("policy omega", out["kl_approx"], self.ppo.max_kl)
        self.step(opt, loss, "policy omega")
        return {"loss_omega": loss.detach()}

    def step_adversaries(self, rows: dict[int, TensorDictBase], v0: dict, opts: list) -> dict[str, torch.Tensor]:
        """Each drawn psi_k on its own steps (EC-PPO, eq. 14; its descent step is eq. 16), with its diagnostics."""
        logs: dict[str, torch.Tensor] = {}
        sets = range(self.space.n_sets)
        ppo_only = not self.game.constrained  # unconstrained baselines: no V(0), the PPO term alone
        for k, mine in rows.items():
            bands = [self.bands.interval(v, k) for v in sets]
            loss, diagnostics = self.adversary_loss(
                mine, k, {} if ppo_only else v0, bands, ppo_world="adv_mask_1", lam=self.game.barrier_lambda
            )
            self.step(opts[k - 1], loss, f"adversary psi_{k}")
            logs[f"loss_adversary_{k}"] = loss.detach()
            logs.update({f"ec_ppo/psi_{k}/{name}": value for name, value in diagnostics.items()})
        return logs

    # -- the pieces of ``update`` ------------------------------------------------------------------------
    def _adversaries_to_update(self) -> tuple[int, list[int]]:
        """The type drawn this iteration (the paper updates only its psi_k), and the psi_k that take an EC-PPO step:
        by default every psi_k (types are drawn per episode, so each has fresh data); none when they are fixed."""
        drawn = int(torch.randint(1, self.K + 1, (1,), generator=self.schedule))
        if not self.learn_adversaries:
            return drawn, []
        return drawn, [drawn] if self.game.adversary_updates == "drawn" else list(range(1, self.K + 1))

    def values(self, td: TensorDictBase) -> torch.Tensor:
        """phi(1) in world-1 envs, phi(0) in world-0 envs, each on its own world's rows: [.., 1], real scale."""
        x = self.critic_input(td)
        world1 = td["world"] == 1
        value = x.new_empty(*x.shape[:-1], 1)
        value[world1] = self.norm1.denormalize(self.phi1(x[world1]))
        value[~world1] = self.norm0.denormalize(self.phi0(x[~world1]))
        return self.at_limit_zero(td, value)

    def _store_advantages(self, batch, adv, target, world1, ks) -> None:
        """Targets, the team's standardised advantage on the slots it played in world 1, and psi_k's advantages."""
        batch.set("value_target", target)
        acted = batch[ADVERSARY, "acted"].unsqueeze(-1)  # [B, T, 1]
        batch.set("team_mask", world1.unsqueeze(-1) & (~self.space.victim_mask(batch["victim"]) | ~acted))  # [B,T,N]
        team_adv = standardise(adv, world1.unsqueeze(-1)).unsqueeze(-2)  # [B, T, 1, 1]
        batch.set((AGENTS, "advantage"), team_adv.expand(*adv.shape[:-1], self.space.n_agents, 1))
        self.adversary_advantages(batch, adv, world1, ks)

    def _minibatch_rows(self, batch: TensorDictBase, ks: list[int]) -> Iterator[dict[str, Any]]:
        """``ppo_epochs`` x ``minibatches`` row sets; with one minibatch the rows are split once, not per epoch."""
        flat = batch.select(*UPDATE_KEYS, strict=False).reshape(-1)
        n_mb = self.ppo.minibatches
        whole = self._loss_rows(flat, ks) if n_mb == 1 else None
        for _ in range(self.ppo.ppo_epochs):
            if whole is not None:
                yield whole
                continue
            for idx in torch.randperm(flat.numel()).chunk(n_mb):
                yield self._loss_rows(flat[idx], ks)

    def _loss_rows(self, mb: TensorDictBase, ks: list[int]) -> dict[str, Any]:
        """Each critic's inputs and targets on its own world, the team's world-1 rows, psi_k's own steps."""
        world1 = mb["world"] == 1
        x, target = self.critic_input(mb), mb["value_target"]
        # World-1 rows only for the team: world-0 log-probs come from pi0, and their ratios under omega can overflow
        # to inf, which a mask cannot stop from turning the gradient into NaN (0 * inf).
        return {
            "x1": x[world1], "target1": target[world1], "x0": x[~world1], "target0": target[~world1],
            "team": mb.select(AGENTS, "state", "team_mask")[world1],
            "adversary": self.adversary_rows(mb, ks),
        }

    def _value_zero(self, batch: TensorDictBase, next_value: torch.Tensor,
                    world0: torch.Tensor) -> dict[tuple[int, int], TypeValueZero]:
        """Eq. 13's V_hat(0) per (v, k) from this batch's world-0 envs: episodes that start here, phi(0)
        bootstrapping what the batch cuts off (``game.v0_estimate=bootstrap``), or the episodes that end here with
        their whole discounted return, carried across batches (``episodes``, ``batpal.game.value_zero_episodes``)."""
        if self.game.v0_estimate == "bootstrap":
            return value_zero_stats(batch, next_value, world0, self.space, self.ppo.gamma)
        b = batch[world0[:, 0]]
        if self.v0_carry is None:
            self.v0_carry = EpisodeCarry.fresh(b.shape[0], b.device)
        values, ends, self.v0_carry = finished_returns(b["next", "reward"], b["is_init"], b["next", "done"],
                                                       self.v0_carry, self.ppo.gamma)
        return finished_value_zero(values, ends, b["type"], self.space)

    def _smoothed(self, v0: dict[tuple[int, int], float]) -> dict[tuple[int, int], float]:
        """Eq. 13's V_hat(0) per (v, k) as eq. 14 reads it: this batch's estimate, averaged over iterations with
        weight ``game.v0_smoothing`` on the past (0: off), and the latest estimate for a type with no world-0
        episode starting in this batch. Without that carry-over, on MPE (50-step episodes, all envs reset together,
        25-step rollouts) every second batch has no episode start, and psi_k took an unconstrained PPO step there:
        half its updates pushed it harsher whatever its band."""
        beta = self.game.v0_smoothing
        for key, value in v0.items():
            old = self.v0_ema.get(key)
            self.v0_ema[key] = value if old is None or beta <= 0.0 else beta * old + (1.0 - beta) * value
        return dict(self.v0_ema)

    def _game_metrics(self, batch: TensorDictBase, v0: dict, k: int) -> dict[str, torch.Tensor]:
        """Return per type in world 1, measured severity eta(V_hat(0)) of each psi_k, the updated k (0: all)."""
        out: dict[str, torch.Tensor] = {"updated_k": torch.tensor(float(k))}
        out |= {key: torch.tensor(value) for key, value in finished_by_type(batch, self.space).items()}
        for kk in range(1, self.K + 1):
            etas = [float(self.bands.severity(torch.tensor(v0[(v, kk)]), torch.tensor(v)))
                    for v in range(self.space.n_sets) if (v, kk) in v0]
            if etas:
                out[f"severity/psi_{kk}"] = torch.tensor(sum(etas) / len(etas))
        return out

    def _v0_noise(self, stats: dict[tuple[int, int], TypeValueZero]) -> dict[str, torch.Tensor]:
        """Per psi_k, over its victims: V_hat(0)'s standard error in severity units (against a band of 1/K), its
        episodes per iteration, and the share of V_hat(0) that is phi(0)'s bootstrap rather than reward."""
        out: dict[str, torch.Tensor] = {}
        for k in range(1, self.K + 1):
            mine = [(v, s) for (v, kk), s in stats.items() if kk == k]
            if not mine:
                continue
            spans = [self.bands.vmax - self.bands.vmin[v] for v, _ in mine]
            ses = [s.se / span for (_, s), span in zip(mine, spans, strict=True) if math.isfinite(s.se)]
            if ses:
                out[f"v0/psi_{k}/se_severity"] = torch.tensor(sum(ses) / len(ses))
            out[f"v0/psi_{k}/episodes"] = torch.tensor(float(sum(s.count for _, s in mine)))
            out[f"v0/psi_{k}/bootstrap_share"] = torch.tensor(sum(s.bootstrap_share for _, s in mine) / len(mine))
        return out

    # -- checkpoints ---------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["rollout_state"]["teacher_forcing"] = self.policy_input.generator.get_state()
        checkpoint["rollout_state"]["v0_ema"] = [[v, k, value] for (v, k), value in self.v0_ema.items()]
        if self.v0_carry is not None:
            checkpoint["rollout_state"]["v0_carry"] = [x.cpu() for x in self.v0_carry]

    def _restore_rollout_state(self, state: dict[str, Any]) -> None:
        """After the collector is built (building it runs the policy once, which draws teacher-forcing coins)."""
        super()._restore_rollout_state(state)
        self.policy_input.generator.set_state(state["teacher_forcing"])

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self.v0_ema = {(int(v), int(k)): float(x) for v, k, x in checkpoint["rollout_state"].get("v0_ema", [])}
        carry = checkpoint["rollout_state"].get("v0_carry")
        self.v0_carry = None if carry is None else EpisodeCarry(*(x.to(self.device) for x in carry))
