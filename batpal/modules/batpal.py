"""Stage ``adversarial`` (and ``calibrate``): Algorithm 1 as one LightningModule with manual optimization.

One ``training_step`` = one iteration: the collector plays both worlds with the joint policy (belief GRU ->
policy input -> pi_omega / pi0 with the victim taken over by psi_k), then TorchRL's GAE, then the updates of
the critics phi(1), phi(0), the belief chi, the policy omega (eq. 17) and the drawn adversary psi_k (EC-PPO,
eq. 14 and 16), each with its own optimizer; alpha (adversary lr) >= beta (policy lr) is the two-timescale
condition. ``calibrate=True`` is the same machinery with world 0 only and an unconstrained adversary
(K = 1): the worst case that gives Vmin^v.

``victims = m > 1`` (appendix D.5): v is a set of m victims (``TypeSpace.sets``) played by psi_k as one
compound adversary; its PPO ratio is over the joint action (the sum of its victims' log-probs), and Vmin^v,
the bands, V(0)(v, k) and the severities are per victim set.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase, TensorDictSequential
from torch import nn
from torchrl.envs import InitTracker, StepCounter, TransformedEnv
from torchrl.modules import MLP, PopArtValueNorm
from torchrl.objectives.multiagent import MAPPOLoss

from batpal.artifacts import load_reference_policy
from batpal.game import Bands, TypePrior, TypeSpace
from batpal.game.belief_input import PolicyBeliefInput
from batpal.game.takeover import JointPolicy
from batpal.game.world_belief import WorldOneBelief
from batpal.game.worlds import TypeAssignment
from batpal.modules.game_metrics import finished_by_type, value_zero_by_type
from batpal.modules.rollout import RolloutModule
from batpal.nn.activations import activation_class
from batpal.nn.actor import AgentActorNet, actor_net, make_actor
from batpal.nn.adversary import AdversaryPopulation
from batpal.nn.belief import make_belief
from batpal.nn.optim import adam
from batpal.nn.sampling import masked_log_prob_entropy
from batpal.objectives.belief import belief_accuracy, belief_loss, teacher_forcing_prob
from batpal.objectives.critics import critic_loss, masked_mean, team_gae
from batpal.objectives.ec_ppo import ec_ppo_loss_grouped
from batpal.objectives.guards import NonFiniteGuard

AGENTS, ADVERSARY = "agents", "adversary"


class BATPALModule(RolloutModule):
    """pi_omega, chi, phi(1), phi(0) and psi_1..psi_K trained simultaneously against frozen pi0 (Algorithm 1)."""

    def __init__(
        self,
        env_name: str,
        num_envs: int,
        rollout_steps: int,
        total_frames: int,
        seed: int,
        reference_policy: str,
        vmax: float,
        vmin: float | Sequence[float],
        K: int = 4,
        victims: int = 1,
        iters_per_epoch: int = 10,
        calibrate: bool = False,
        prior: str = "uniform",
        benign_prob: float = 0.2,
        world1_fraction: float = 0.5,
        barrier_lambda: float = 0.2,
        zeta: float = 0.5,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_epsilon: float = 0.2,
        entropy_coeff: float = 0.01,
        adversary_entropy_coeff: float = 0.001,
        policy_lr: float = 5e-4,
        adversary_lr: float = 5e-4,
        critic_lr: float = 5e-4,
        belief_lr: float = 5e-4,
        ppo_epochs: int = 5,
        minibatches: int = 1,
        max_grad_norm: float = 10.0,
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
        belief_mode: str = "softmax",
        belief_hidden: int = 128,
        belief_source: str = "belief",
        teacher_forcing_until: float = 0.5,
        warm_start: bool = True,
        adversary_warm_start: bool = True,
        adversary_updates: str = "all",
        constrained: bool = True,
        attack_prob: float = 1.0,
        ec_clip: bool = True,
        fixed_adversaries: Sequence[str] = (),
        v0_smoothing: float = 0.0,
        belief_batch: float = 1.0,
        max_episode_steps: int = 50,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(env_name, num_envs, rollout_steps, total_frames, iters_per_epoch, seed, env_kwargs)
        _check_game_args(K, vmax, vmin, barrier_lambda, policy_lr, adversary_lr, world1_fraction, calibrate)
        if adversary_updates not in ("all", "drawn"):
            raise ValueError(f"game.adversary_updates must be 'all' or 'drawn', got {adversary_updates!r}.")
        _check_variant_args(constrained, attack_prob, world1_fraction, fixed_adversaries, K, calibrate)
        self.save_hyperparameters()
        self.max_episode_steps = max_episode_steps
        pi0, meta = load_reference_policy(reference_policy)
        if meta["env"] != env_name:
            raise ValueError(f"reference policy {reference_policy} was trained on {meta['env']!r}, not {env_name!r}.")
        dims = self.dims = meta["dims"]
        n, obs, n_act, state = dims["n_agents"], dims["obs_dim"], dims["n_actions"], dims["state_dim"]
        self.space = TypeSpace(n, K, victims)
        self.bands = Bands(vmax, vmin, K, self.space.n_sets)  # per victim set (per victim when m = 1)
        self.prior = TypePrior.uniform(self.space) if prior == "uniform" else TypePrior.authors(self.space, benign_prob)
        self.pi0 = actor_net(pi0)  # frozen: requires_grad False, never in an optimizer
        self.belief = make_belief(n, obs, n_act, self.space.size, belief_mode, belief_hidden, n_sets=self.space.n_sets)
        self.belief_sequence = self.belief.sequence_module()
        self.policy_input = PolicyBeliefInput(self.space, belief_mode, belief_source, seed)
        d_belief = self.belief.out_dim
        omega = AgentActorNet(obs + d_belief, n, n_act, hidden, activation)
        if warm_start and not calibrate:
            warm_start_from_reference(omega, self.pi0, obs, d_belief)
        self.omega = make_actor([(AGENTS, "observation"), (AGENTS, "policy_belief")], 0, n, n_act, net=omega)
        self.adversaries = AdversaryPopulation(obs + n, n_act, K, hidden, activation)
        self.learn_adversaries = not fixed_adversaries
        if fixed_adversaries:  # KT / Fixed Types: frozen attacks take the victim's slot, none of them learns
            load_fixed_adversaries(self.adversaries, fixed_adversaries, env_name)
        elif adversary_warm_start and not calibrate and not self.adversaries.warm_start_from(self.pi0.mlp):
            warnings.warn("psi_k's widths differ from pi0's: adversaries start from random weights.", stacklevel=2)
        self.joint = JointPolicy(omega, self.pi0, self.adversaries, attack_prob, self.space.members)
        critic = {
            "in_features": state + self.space.size + 1,
            "out_features": 1,
            "num_cells": list(hidden),
            "activation_class": activation_class(activation),
        }
        self.phi1, self.phi0 = MLP(**critic), MLP(**critic)
        self.norm1, self.norm0 = PopArtValueNorm(shape=1), PopArtValueNorm(shape=1)
        self.omega_loss = MAPPOLoss(
            self.omega,
            None,
            clip_epsilon=clip_epsilon,
            entropy_coeff=entropy_coeff,
            normalize_advantage=False,
            reduction="none",
        )
        self.omega_loss.set_keys(
            action=(AGENTS, "action"), sample_log_prob=(AGENTS, "action_log_prob"), advantage=(AGENTS, "advantage")
        )
        self.stage_name = "calibrate" if calibrate else "adversarial"
        self.schedule = torch.Generator().manual_seed(seed + 7)  # same on every rank: which psi_k to update
        self.guard = NonFiniteGuard()
        if not 0.0 < belief_batch <= 1.0:
            raise ValueError(f"game.belief_batch must lie in (0, 1] (a share of world-1 histories): {belief_batch}.")
        if not 0.0 <= v0_smoothing < 1.0:
            raise ValueError(f"game.v0_smoothing must lie in [0, 1), got {v0_smoothing}.")
        self.v0_ema: dict[tuple[int, int], float] = {}  # smoothed V_hat(0) per (victim, k), see update()

    # -- rollouts ------------------------------------------------------------------------------------
    def decorate_env(self, env: TransformedEnv, rank: int) -> TransformedEnv:
        """Adds is_init, the type draw with the world split, and the belief's recurrent state."""
        world = torch.zeros(self.num_envs, dtype=torch.long)
        if not self.hparams.calibrate:
            world[: max(1, round(self.num_envs * self.hparams.world1_fraction))] = 1
        env.append_transform(InitTracker())
        env.append_transform(StepCounter())  # t, for the critics' time feature
        env.append_transform(
            TypeAssignment(
                self.prior.probs.float(),
                self.space.n_sets,
                self.space.K,
                world.to(env.device),
                self.seed + 1000 * rank + 1,
            )
        )
        env.append_transform(self.belief.primer())
        return env

    def rollout_policy(self) -> TensorDictModuleBase:
        return TensorDictSequential(WorldOneBelief(self.belief), self.policy_input, self.joint)

    # -- optimizers ----------------------------------------------------------------------------------
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        return [
            adam(self.joint.omega.parameters(), lr=hp.policy_lr),  # beta, eq. 17
            adam([*self.phi1.parameters(), *self.phi0.parameters()], lr=hp.critic_lr),
            adam(self.belief.parameters(), lr=hp.belief_lr),
            *(adam(net.parameters(), lr=hp.adversary_lr) for net in self.adversaries.nets),  # alpha
        ]  # frozen (fixed) adversaries keep their optimizers, never stepped, so checkpoints have one layout

    def _adversaries_to_update(self, drawn: int) -> list[int]:
        """The psi_k that take an EC-PPO step this iteration (none when they are fixed attacks)."""
        if not self.learn_adversaries:
            return []
        return [drawn] if self.hparams.adversary_updates == "drawn" else list(range(1, self.hparams.K + 1))

    # -- one iteration of Algorithm 1 -----------------------------------------------------------------
    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        hp = self.hparams
        opt_omega, opt_critic, opt_belief, *opt_adv = self.optimizers()
        # Which psi_k learn this iteration: the paper draws one type per iteration; with types drawn per episode
        # every psi_k has fresh data, so by default each one takes its own EC-PPO step (its own optimizer).
        drawn = int(torch.randint(1, hp.K + 1, (1,), generator=self.schedule))
        ks = self._adversaries_to_update(drawn)
        self.policy_input.teacher_forcing = teacher_forcing_prob(
            self.frames / self.total_frames, hp.teacher_forcing_until
        )
        with torch.no_grad():
            value, next_value = self._values(batch), self._values(batch["next"])  # [B, T, 1]
            adv, target = team_gae(
                value,
                next_value,
                batch["next", "reward"],
                batch["next", "done"],
                batch["next", "terminated"],
                hp.gamma,
                hp.gae_lambda,
            )
        world1 = batch["world"] == 1  # [B, T]
        v0 = self._smoothed(value_zero_by_type(batch, next_value, ~world1, self.space, hp.gamma))  # eq. 13
        self._prepare_advantages(batch, adv, target, world1, ks)
        with torch.no_grad():  # PopArt statistics of each critic's targets, once per iteration
            for norm, rows in ((self.norm1, world1), (self.norm0, ~world1)):
                if bool(rows.any()):  # the targets of every rank, so that the statistics stay identical
                    norm.update(self.all_gather(target[rows]).reshape(-1, 1))
        logs: dict[str, torch.Tensor] = {}
        if not hp.calibrate:
            logs.update(self._update_belief(batch[world1[:, 0]], opt_belief))
        flat = batch.select(*self._update_keys(), strict=False).reshape(-1)  # only what the losses read
        n_mb = max(1, hp.minibatches)
        whole = self._loss_rows(flat, ks) if n_mb == 1 else None  # one minibatch: split the rows once
        for _ in range(hp.ppo_epochs):
            # one minibatch: the whole batch, no shuffled copy (the losses are means, order does not matter)
            for mb in (flat[idx] for idx in torch.randperm(flat.numel()).chunk(n_mb)) if n_mb > 1 else (flat,):
                losses = self._losses(whole if whole is not None else self._loss_rows(mb, ks), v0)
                total = sum(losses.values())
                if not self.guard.ok(total, reduce=self._sum_over_ranks):
                    continue
                stepped = (opt_omega, opt_critic, *(opt_adv[k - 1] for k in ks))
                for opt in stepped:
                    opt.zero_grad()
                self.manual_backward(total)
                for opt in stepped:
                    self.clip_gradients(opt, hp.max_grad_norm, "norm")
                    opt.step()
                logs.update({name: loss.detach() for name, loss in losses.items()})
        logs.update(self._game_metrics(batch, v0, drawn if len(ks) == 1 else 0))
        return logs

    def _update_keys(self) -> list:
        """The keys the critic, omega and psi_k losses read (the rest of the batch is not copied per epoch)."""
        return [
            *((AGENTS, key) for key in ("observation", "policy_belief", "action_mask", "action", "action_log_prob")),
            (AGENTS, "advantage"),
            ADVERSARY,
            "state",
            "type",
            "step_count",
            "world",
            "victim",
            "severity",
            "value_target",
            "team_mask",
            "adv_mask_1",
            "adv_mask_0",
            "adversary_advantage",
        ]

    def _smoothed(self, v0: dict[tuple[int, int], float]) -> dict[tuple[int, int], float]:
        """Eq. 13's V_hat(0) per (v, k), averaged over iterations with weight ``v0_smoothing`` on the past (0: off).

        One iteration sees ~10 world-0 episodes of a type; the noise makes eq. 14 switch between its cases.
        """
        beta = self.hparams.get("v0_smoothing", 0.0)
        if beta <= 0.0:
            return v0
        for key, value in v0.items():
            old = self.v0_ema.get(key)
            self.v0_ema[key] = value if old is None else beta * old + (1.0 - beta) * value
        return {key: self.v0_ema[key] for key in v0}

    def _values(self, td: TensorDictBase) -> torch.Tensor:
        """phi(1) in world-1 envs, phi(0) in world-0 envs, on (state, type one-hot): [.., 1], real scale.

        The critics predict PopArt-normalised values (MAPPO's ValueNorm); GAE gets them denormalised.
        """
        x = self._critic_input(td)
        world1 = td["world"] == 1
        value = x.new_empty(*x.shape[:-1], 1)
        value[world1] = self.norm1.denormalize(self.phi1(x[world1]))  # each critic on its own world's rows
        value[~world1] = self.norm0.denormalize(self.phi0(x[~world1]))
        # Finite horizon: at the episode limit nothing is left to earn, V = 0 exactly (Pardo et al., 2018).
        # Bootstrapping a time-blind critic there fed its own extrapolation back and both critics diverged.
        return torch.where(td["step_count"] >= self.max_episode_steps, torch.zeros_like(value), value)

    def _critic_input(self, td: TensorDictBase) -> torch.Tensor:
        """(state, type one-hot, t / episode limit): time-aware critics for a finite-horizon episode."""
        time = td["step_count"].to(td["state"].dtype) / self.max_episode_steps  # [.., 1]
        return torch.cat([td["state"], self.space.one_hot(td["type"]), time], dim=-1)

    def _prepare_advantages(self, batch, adv, target, world1, ks) -> None:
        """Stores targets and standardised advantages: the team's (omega, world 1) and each psi_k's (both worlds,
        standardised over psi_k's own steps)."""
        n = self.space.n_agents
        batch.set("value_target", target)
        victim = batch["victim"]
        acted = batch[ADVERSARY, "acted"]  # [B, T] the adversary took the victims' slots (attack_prob)
        # [B, T, N]: world-1 slots the team itself played (all but an acting adversary's)
        team_mask = world1.unsqueeze(-1) & (~self.space.victim_mask(victim) | ~acted.unsqueeze(-1))
        batch.set("team_mask", team_mask)
        batch.set(
            (AGENTS, "advantage"), _standardise(adv, world1.unsqueeze(-1)).unsqueeze(-2).expand(*adv.shape[:-1], n, 1)
        )
        attacked = acted & (batch["type"] > 0) & torch.isin(batch["severity"], torch.tensor(ks, device=victim.device))
        batch.set("adv_mask_1", attacked & world1)
        batch.set("adv_mask_0", attacked & ~world1)
        adversary_adv = torch.zeros_like(adv)
        for k in ks:
            mine = (attacked & (batch["severity"] == k)).unsqueeze(-1)  # [B, T, 1] steps where psi_k acted
            adv1 = _standardise(adv, mine & world1.unsqueeze(-1))
            adv0 = _standardise(adv, mine & ~world1.unsqueeze(-1), centre=False)
            adversary_adv = torch.where(mine, torch.where(world1.unsqueeze(-1), adv1, adv0), adversary_adv)
        batch.set("adversary_advantage", adversary_adv.squeeze(-1))

    def _loss_rows(self, mb: TensorDictBase, ks: list[int]) -> dict[str, Any]:
        """The rows each loss reads, selected once per minibatch (not once per epoch): each critic's (state, type,
        t) inputs and targets on its own world, the team's world-1 rows, and psi_k's own steps for each k."""
        world1 = mb["world"] == 1
        x, target = self._critic_input(mb), mb["value_target"]
        rows: dict[str, Any] = {"x1": x[world1], "target1": target[world1]}
        rows.update(x0=x[~world1], target0=target[~world1])
        if not self.hparams.calibrate:
            # World-1 rows only: world-0 log-probs come from pi0, and their ratios under omega can overflow to
            # inf, which a mask cannot stop from turning the gradient into NaN (0 * inf).
            rows["team"] = mb.select(AGENTS, "state", "team_mask")[world1]
        adversary = mb.select(ADVERSARY, "adv_mask_1", "adv_mask_0", "adversary_advantage", "victim", "severity")
        acted = adversary["adv_mask_1"] | adversary["adv_mask_0"]
        rows["adversary"] = {k: adversary[acted & (adversary["severity"] == k)] for k in ks}  # psi_k's steps only
        return rows

    def _losses(self, rows: dict[str, Any], v0: dict) -> dict[str, torch.Tensor]:
        """Critic, omega (masked MAPPO clip loss) and each psi_k's (EC-PPO) losses on one minibatch's rows."""
        losses = {  # each critic on its own world's rows only
            "loss_critic_1": critic_loss(self.phi1(rows["x1"]), rows["target1"], self.norm1),
            "loss_critic_0": critic_loss(self.phi0(rows["x0"]), rows["target0"], self.norm0),
        }
        if "team" in rows:
            team = rows["team"]
            out = self.omega_loss(team.select(AGENTS, "state"))
            mask = team["team_mask"]
            losses["loss_omega"] = masked_mean(out["loss_objective"], mask) + masked_mean(out["loss_entropy"], mask)
        for k, mine in rows["adversary"].items():  # disjoint parameters: the sum's gradient is each psi_k's own
            losses[f"loss_adversary_{k}"] = self._adversary_loss(mine, k, v0)
        return losses

    def _adversary_loss(self, mb: TensorDictBase, k: int, v0: dict) -> torch.Tensor:
        """EC-PPO (eq. 14) for psi_k on its own steps ``mb``, per victim (set) v with its band [l, h] and
        V_hat(0)(v, k); mean over v. With several victims the ratio and entropy are the compound adversary's:
        sums over its victims.
        """
        hp = self.hparams
        # on exactly the inputs psi_k acted on: [M, D], [M, A], [M] (one victim) or [M, m, D], [M, m, A], [M, m]
        inputs, mask, action = mb[ADVERSARY, "input"], mb[ADVERSARY, "action_mask"], mb[ADVERSARY, "action"]
        logp, entropy = masked_log_prob_entropy(self.adversaries.logits_of(k, inputs), mask, action)  # [M] or [M, m]
        if self.space.victims > 1:  # the compound adversary's product policy: joint log-prob and entropy
            logp, entropy = logp.sum(-1), entropy.sum(-1)  # [M]
        sets = range(self.space.n_sets)
        bands = [self.bands.interval(v, k) for v in sets]
        if hp.calibrate or not hp.constrained:
            # no V(0): eq. 14 reduces to the PPO term (unconstrained baselines; calibrate's worst case, whose
            # PPO rows are its world-0 steps against pi0, so that it minimises V(0) itself)
            v0_hat = torch.full((len(bands),), float("nan"))
        else:
            v0_hat = torch.tensor([v0.get((v, k), float("nan")) for v in sets])
        return ec_ppo_loss_grouped(  # eq. 14 per victim (set) with its own band and V_hat(0), mean over them
            logp,
            mb[ADVERSARY, "log_prob"],
            mb["adversary_advantage"],
            mb["adv_mask_0"] if hp.calibrate else mb["adv_mask_1"],
            mb["victim"],
            v0_hat=v0_hat.to(logp.device),
            low=logp.new_tensor([low for low, _ in bands]),
            high=logp.new_tensor([high for _, high in bands]),
            lam=hp.barrier_lambda,
            zeta=hp.zeta,
            clip_epsilon=hp.clip_epsilon if hp.ec_clip else math.inf,  # EC-PG: no ratio clipping
            entropy=entropy,
            entropy_coeff=hp.adversary_entropy_coeff,
        )

    def _update_belief(self, world1: TensorDictBase, opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        """One cross-entropy step of chi on the world-1 histories [B1, T] against the true type.

        ``game.belief_batch`` < 1: on that share of the histories, drawn at random each iteration. The GRU's
        backward through time is a fifth of an iteration's compute, and a supervised classifier needs less data
        per step than the policy does.
        """
        histories = world1.select(*self.belief_sequence.in_keys, "type")
        n = histories.shape[0]
        take = max(1, round(n * self.hparams.get("belief_batch", 1.0)))
        if take < n:  # the draw comes from the checkpointed schedule generator, so a resumed run draws the same
            histories = histories[torch.randperm(n, generator=self.schedule)[:take].to(histories.device)]  # a copy
        else:
            histories = histories.clone()  # the sequence module writes its outputs into it
        td = self.belief_sequence(histories)
        loss = belief_loss(
            td[AGENTS, "belief_logits"], td["type"], self.hparams.belief_mode, targets=self._belief_targets(td["type"])
        )
        if self.guard.ok(loss, reduce=self._sum_over_ranks):
            opt.zero_grad()
            self.manual_backward(loss)
            self.clip_gradients(opt, self.hparams.max_grad_norm, "norm")
            opt.step()
        accuracy = belief_accuracy(
            world1[AGENTS, "belief"], world1["type"], self.hparams.belief_mode, n_sets=self.space.n_sets
        )
        return {"loss_belief": loss.detach(), "belief_accuracy": torch.tensor(accuracy)}

    def _belief_targets(self, z: torch.Tensor) -> torch.Tensor:
        return self.space.one_hot(z) if self.hparams.belief_mode == "softmax" else self.space.factored(z)

    def _game_metrics(self, batch: TensorDictBase, v0: dict, k: int) -> dict[str, torch.Tensor]:
        """Return per type in world 1, measured severity eta(V_hat(0)) of each psi_k, the updated k (0: all)."""
        out: dict[str, torch.Tensor] = {"updated_k": torch.tensor(float(k))}
        for key, value in finished_by_type(batch, self.space).items():
            out[key] = torch.tensor(value)
        for kk in range(1, self.space.K + 1):
            etas = [
                float(self.bands.severity(torch.tensor(v0[(v, kk)]), torch.tensor(v)))
                for v in range(self.space.n_sets)
                if (v, kk) in v0
            ]
            if etas:
                out[f"severity/psi_{kk}"] = torch.tensor(sum(etas) / len(etas))
        return out

    def _sum_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        return self.trainer.strategy.reduce(value, reduce_op="sum") if self._trainer is not None else value

    # -- checkpoints ---------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["rollout_state"]["schedule"] = self.schedule.get_state()
        checkpoint["rollout_state"]["teacher_forcing"] = self.policy_input.generator.get_state()
        checkpoint["rollout_state"]["v0_ema"] = [[v, k, value] for (v, k), value in self.v0_ema.items()]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self.schedule.set_state(checkpoint["rollout_state"]["schedule"])
        self.policy_input.generator.set_state(checkpoint["rollout_state"]["teacher_forcing"])
        self.v0_ema = {(int(v), int(k)): float(x) for v, k, x in checkpoint["rollout_state"].get("v0_ema", [])}


@torch.no_grad()
def warm_start_from_reference(omega: AgentActorNet, pi0: AgentActorNet, obs_dim: int, belief_dim: int) -> None:
    """pi_omega starts as pi0: same weights, the belief's input columns zero (so it first ignores the belief).

    Skipped, with a warning, when the widths differ (``model.hidden`` changed since pretraining).
    """
    layers_w = [m for m in omega.mlp.modules() if isinstance(m, nn.Linear)]
    layers_0 = [m for m in pi0.mlp.modules() if isinstance(m, nn.Linear)]
    same = len(layers_w) == len(layers_0) and all(
        a.out_features == b.out_features for a, b in zip(layers_w, layers_0, strict=True)
    )
    if not same:
        warnings.warn("pi_omega's widths differ from pi0's: training it from scratch (no warm start).", stacklevel=2)
        return
    first_w, first_0 = layers_w[0], layers_0[0]
    first_w.weight.zero_()
    first_w.weight[:, :obs_dim] = first_0.weight[:, :obs_dim]  # observation columns
    first_w.weight[:, obs_dim + belief_dim :] = first_0.weight[:, obs_dim:]  # agent one-hot columns
    first_w.bias.copy_(first_0.bias)
    for a, b in zip(layers_w[1:], layers_0[1:], strict=True):
        a.weight.copy_(b.weight)
        a.bias.copy_(b.bias)


def _standardise(x: torch.Tensor, mask: torch.Tensor, centre: bool = True) -> torch.Tensor:
    """(x - mean) / std over ``mask`` (statistics of the selected entries only); unchanged if too few."""
    sel = x[mask.expand_as(x)]
    if sel.numel() < 2:
        return x
    mean = sel.mean() if centre else 0.0
    return (x - mean) / sel.std().clamp_min(1e-6)


def _check_game_args(K, vmax, vmin, barrier_lambda, policy_lr, adversary_lr, world1_fraction, calibrate) -> None:
    """Bad game settings fail before any compute; alpha < beta only warns (the paper's two-timescale condition)."""
    if int(K) < 1:
        raise ValueError(f"game.K must be >= 1, got {K}.")
    if barrier_lambda <= 0:
        raise ValueError(f"game.barrier_lambda must be > 0 (the log-barrier weight of eq. 9), got {barrier_lambda}.")
    for v, low in enumerate([vmin] if isinstance(vmin, int | float) else vmin):
        if not vmax > low:
            raise ValueError(f"Vmax must exceed Vmin^v (eq. 3): vmax={vmax}, vmin[{v}]={low}.")
    if not calibrate and not 0.0 < world1_fraction <= 1.0:
        raise ValueError(f"game.world1_fraction must lie in (0, 1], got {world1_fraction}.")
    if adversary_lr < policy_lr:
        warnings.warn(
            f"adversary lr alpha={adversary_lr} < policy lr beta={policy_lr}: the two-timescale update (eq. 16-17) "
            "assumes alpha >= beta so that psi_k tracks a quasi-static pi_omega.",
            stacklevel=3,
        )


def _check_variant_args(constrained, attack_prob, world1_fraction, fixed_adversaries, K, calibrate) -> None:
    """The baselines' switches (configs/algo/): clear errors for combinations that cannot work."""
    if not 0.0 < attack_prob <= 1.0:
        raise ValueError(f"game.attack_prob must lie in (0, 1], got {attack_prob}.")
    if constrained and not fixed_adversaries and not calibrate and world1_fraction >= 1.0:
        raise ValueError(
            "game.world1_fraction=1 leaves no world-0 envs, so V(0) and the bands of eq. 14 cannot be estimated: "
            "use a fraction in (0, 1), or game.constrained=false (EIR-MAPPO, Gen-Maxmin, RAP)."
        )
    if fixed_adversaries and len(fixed_adversaries) != K:
        raise ValueError(f"game.K={K} but {len(fixed_adversaries)} fixed adversaries were given; they must match.")


ATTACK_FILE = "attack.pt"


@torch.no_grad()
def load_fixed_adversaries(population: AdversaryPopulation, paths: Sequence[str], env_name: str) -> None:
    """psi_k := the trained attack in ``paths[k - 1]`` (an attack run dir or its attack.pt), frozen."""
    for k, given in enumerate(paths, start=1):
        path = Path(given)
        path = path / ATTACK_FILE if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"fixed adversary {given}: no {ATTACK_FILE} (train one with batpal.attack).")
        payload = torch.load(path, map_location="cpu", weights_only=False)
        if payload.get("env") != env_name:
            raise ValueError(f"fixed adversary {given} was trained on {payload.get('env')!r}, not {env_name!r}.")
        try:
            population.nets[k - 1].load_state_dict(payload["state_dict"])
        except RuntimeError as err:
            raise ValueError(f"fixed adversary {given} does not fit psi_{k} (model.hidden differs?): {err}") from err
    population.requires_grad_(False)
