"""What the calibrate and adversarial stages share: frozen pi0, the type space, the world split of the rollout
envs, centralised critics on (state, type, t), the adversaries psi_k and their EC-PPO step (eq. 14)."""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from tensordict import TensorDictBase
from torchrl.envs import InitTracker, StepCounter, TransformedEnv
from torchrl.modules import MLP, PopArtValueNorm

from batpal.artifacts import load_reference_policy
from batpal.config.schema import EnvConfig, GameConfig, ModelConfig, PPOConfig
from batpal.game import TypePrior, TypeSpace
from batpal.game.worlds import TypeAssignment
from batpal.modules.rollout import RolloutModule
from batpal.nn.activations import activation_class
from batpal.nn.actor import actor_net
from batpal.nn.adversary import AdversaryPopulation
from batpal.nn.sampling import masked_log_prob_entropy
from batpal.objectives.critics import team_gae
from batpal.objectives.ec_ppo import ec_ppo

AGENTS, ADVERSARY = "agents", "adversary"


@dataclass(frozen=True)
class GameSetup:
    """What a game module is built from: the typed configs, its stage's PPO settings and budget, the run's pi0."""

    env: EnvConfig
    ppo: PPOConfig  # the stage's (``batpal.config.stage_ppo``)
    game: GameConfig
    model: ModelConfig
    total_frames: int
    iters_per_epoch: int
    seed: int
    reference_policy: str  # path of pi0.pt

    def hparams(self, **extra: Any) -> dict[str, Any]:
        """Plain containers for Lightning's ``hparams`` (logged, and loadable with ``weights_only``)."""
        return {**asdict(self), **extra}


class GameModule(RolloutModule):
    """Base of ``CalibrationModule`` and ``BATPALModule``: subclasses build their networks in their own order
    (``_build_adversaries``, ``_build_critic``) and write ``update``."""

    def __init__(self, setup: GameSetup, K: int) -> None:
        env, ppo, game, seed, reference_policy = setup.env, setup.ppo, setup.game, setup.seed, setup.reference_policy
        super().__init__(env, ppo.rollout_steps, setup.total_frames, setup.iters_per_epoch, seed)
        self.ppo, self.game, self.model = ppo, game, setup.model
        self.max_episode_steps = env.max_episode_steps
        pi0, meta = load_reference_policy(reference_policy)
        if meta["env"] != env.name:
            raise ValueError(f"reference policy {reference_policy} was trained on {meta['env']!r}, not {env.name!r}.")
        self.dims = meta["dims"]
        self.space = TypeSpace(self.dims["n_agents"], K, game.victims)  # K: its one source from here on
        authors = game.prior == "authors"
        self.prior = TypePrior.authors(self.space, game.benign_prob) if authors else TypePrior.uniform(self.space)
        self.pi0 = actor_net(pi0)  # frozen: requires_grad False, never in an optimizer
        self.schedule = torch.Generator().manual_seed(seed + 7)  # same on every rank: which psi_k to update

    @property
    def K(self) -> int:
        return self.space.K

    # -- networks, built by subclasses in their own order (the order fixes the initial weights) ---------
    def _build_adversaries(self) -> AdversaryPopulation:
        n, obs, n_act = self.dims["n_agents"], self.dims["obs_dim"], self.dims["n_actions"]
        return AdversaryPopulation(obs + n, n_act, self.K, self.model.hidden, self.model.activation)

    def _build_critic(self) -> tuple[MLP, PopArtValueNorm]:
        """A critic on (state, type one-hot, t) predicting PopArt-normalised values, and its normaliser."""
        net = MLP(
            in_features=self.dims["state_dim"] + self.space.size + 1,
            out_features=1,
            num_cells=list(self.model.hidden),
            activation_class=activation_class(self.model.activation),
        )
        return net, PopArtValueNorm(shape=1)

    # -- rollouts ------------------------------------------------------------------------------------
    def world_of_envs(self) -> torch.Tensor:
        """[envs] the world (1: pi_omega, 0: pi0) of each rollout env; subclasses choose."""
        return torch.zeros(self.num_envs, dtype=torch.long)

    def decorate_env(self, env: TransformedEnv, rank: int) -> TransformedEnv:
        """Adds is_init, t (the critics' time feature) and the type draw with the world split."""
        env.append_transform(InitTracker())
        env.append_transform(StepCounter())
        probs, world = self.prior.probs.float(), self.world_of_envs().to(env.device)
        seed = self.seed + 1000 * rank + 1
        env.append_transform(TypeAssignment(probs, self.space.n_sets, self.K, world, seed))
        return env

    # -- values and advantages ---------------------------------------------------------------------------
    def critic_input(self, td: TensorDictBase) -> torch.Tensor:
        """(state, type one-hot, t / episode limit): time-aware critics for a finite-horizon episode."""
        time = td["step_count"].to(td["state"].dtype) / self.max_episode_steps  # [.., 1]
        return torch.cat([td["state"], self.space.one_hot(td["type"]), time], dim=-1)

    def at_limit_zero(self, td: TensorDictBase, value: torch.Tensor) -> torch.Tensor:
        """V = 0 exactly at the episode limit (Pardo et al., 2018): bootstrapping a time-blind critic there fed its
        own extrapolation back and the critics diverged."""
        return torch.where(td["step_count"] >= self.max_episode_steps, torch.zeros_like(value), value)

    @abstractmethod
    def values(self, td: TensorDictBase) -> torch.Tensor:
        """[.., 1] real-scale values of each env's world; subclasses say which critic serves which world."""

    @torch.no_grad()
    def team_advantages(self, batch: TensorDictBase) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """TorchRL's GAE on the team reward: (advantage, value target, next value), each [B, T, 1]."""
        value, next_value = self.values(batch), self.values(batch["next"])
        next_ = batch["next"]
        adv, target = team_gae(
            value, next_value, next_["reward"], next_["done"], next_["terminated"], self.ppo.gamma, self.ppo.gae_lambda
        )
        return adv, target, next_value

    @torch.no_grad()
    def update_normaliser(self, norm: PopArtValueNorm, target: torch.Tensor, rows: torch.Tensor) -> None:
        """PopArt statistics from every rank's targets on ``rows`` (so that the replicas stay identical)."""
        if bool(rows.any()):
            norm.update(self.all_gather(target[rows]).reshape(-1, 1))

    def adversary_advantages(self, batch: TensorDictBase, adv: torch.Tensor, world1: torch.Tensor, ks: list[int]):
        """Marks psi_k's steps (``adv_mask_1`` / ``adv_mask_0`` by world) and stores their advantages, standardised
        over psi_k's own steps in each world (world 0 scaled, not centred: eq. 14 uses its sign)."""
        acted = batch[ADVERSARY, "acted"]  # [B, T] the adversary took the victims' slots (attack_prob)
        drawn = torch.isin(batch["severity"], torch.tensor(ks, device=acted.device))
        attacked = acted & (batch["type"] > 0) & drawn
        batch.set("adv_mask_1", attacked & world1)
        batch.set("adv_mask_0", attacked & ~world1)
        adversary_adv = torch.zeros_like(adv)
        w1 = world1.unsqueeze(-1)
        for k in ks:
            mine = (attacked & (batch["severity"] == k)).unsqueeze(-1)  # [B, T, 1] the steps where psi_k acted
            adv1, adv0 = standardise(adv, mine & w1), standardise(adv, mine & ~w1, centre=False)
            adversary_adv = torch.where(mine, torch.where(w1, adv1, adv0), adversary_adv)
        batch.set("adversary_advantage", adversary_adv.squeeze(-1))

    def adversary_rows(self, mb: TensorDictBase, ks: Iterable[int]) -> dict[int, TensorDictBase]:
        """psi_k's own steps, for each k."""
        adversary = mb.select(ADVERSARY, "adv_mask_1", "adv_mask_0", "adversary_advantage", "victim", "severity")
        acted = adversary["adv_mask_1"] | adversary["adv_mask_0"]
        return {k: adversary[acted & (adversary["severity"] == k)] for k in ks}

    # -- the adversary's step (eq. 14, 16) ---------------------------------------------------------------------
    def adversary_loss(
        self, mb: TensorDictBase, k: int, v0: dict, bands: list[tuple[float, float]], *, ppo_world: str, lam: float
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """EC-PPO (eq. 14) for psi_k on its own steps ``mb``, per victim (set) v with band ``bands[v]`` and
        V_hat(0)(v, k) (NaN: no V(0), the PPO term alone); mean over v. ``game.zeta`` is a share of
        Vmax - Vmin^v, so the guard narrows with the band. The ratio and entropy are computed on
        exactly the inputs psi_k acted on; with several victims they are the compound adversary's (sums)."""
        inputs, mask, action = mb[ADVERSARY, "input"], mb[ADVERSARY, "action_mask"], mb[ADVERSARY, "action"]
        logp, entropy = masked_log_prob_entropy(self.adversaries.logits_of(k, inputs), mask, action)  # [M] / [M, m]
        if self.space.victims > 1:  # the compound adversary's product policy: joint log-prob and entropy
            logp, entropy = logp.sum(-1), entropy.sum(-1)  # [M]
        sets = range(self.space.n_sets)
        v0_hat = torch.tensor([v0.get((v, k), math.nan) for v in sets], device=logp.device)
        low, high = logp.new_tensor([lo for lo, _ in bands]), logp.new_tensor([hi for _, hi in bands])  # [G]
        result = ec_ppo(
            logp,
            mb[ADVERSARY, "log_prob"],
            mb["adversary_advantage"],
            mb[ppo_world],
            mb["victim"],
            v0_hat=v0_hat,
            low=low,
            high=high,
            lam=lam,
            zeta=self.game.zeta * self.K * (high - low),  # severity scale -> value units: a band is 1/K of the span
            clip_epsilon=self.ppo.clip_epsilon if self.game.ec_clip else math.inf,  # EC-PG: no ratio clipping
            entropy=entropy,
            entropy_coeff=self.game.adversary_entropy_coeff,
            sign_entropy=self.game.sign_entropy,
        )
        self.guard.check_kl(f"adversary psi_{k}", result.diagnostics["approx_kl"], self.ppo.max_kl)
        return result

    # -- optimizer steps ---------------------------------------------------------------------------------
    def step(self, opt: torch.optim.Optimizer, loss: torch.Tensor, name: str) -> None:
        """One guarded optimizer step on ``loss``: zero, backward, clip to ``max_grad_norm``, step."""
        self.guard.check_loss(name, loss)
        opt.zero_grad()
        self.manual_backward(loss)
        self.clip_gradients(opt, self.ppo.max_grad_norm, "norm")
        opt.step()

    # -- checkpoints ---------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["rollout_state"]["schedule"] = self.schedule.get_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self.schedule.set_state(checkpoint["rollout_state"]["schedule"])


def standardise(x: torch.Tensor, mask: torch.Tensor, centre: bool = True) -> torch.Tensor:
    """(x - mean) / std over ``mask`` (statistics of the selected entries only); unchanged if too few."""
    sel = x[mask.expand_as(x)]
    if sel.numel() < 2:
        return x
    mean = sel.mean() if centre else 0.0
    return (x - mean) / sel.std().clamp_min(1e-6)
