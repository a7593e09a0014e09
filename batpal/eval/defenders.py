"""Frozen defenders read from run directories: a finished run's team, its env facts and its pi0.

A defender is a finished run (``check_finished``: every stage of its config's ``stages`` in its ``summary.json``,
``pi0.pt``, and ``defender.pt`` where the stages include ``adversarial``). What it is comes from its config, never
from which files happen to be there: a run without the adversarial stage (``stages=[pretrain]``, method ``mappo``)
is MAPPO and plays pi0 for every agent; a BATPAL-family run (stages include ``adversarial``) is labelled by its
``method`` (eir_mappo -> EIR-MAPPO) and plays pi_omega on chi's belief (no teacher forcing), as in the paper's
evaluation (section 5). Attacks and the RL attack trainer only see this interface: ``decorate`` an env, take
``policy()``, and wrap it in ``AttackedTeam`` (``batpal.eval.attacked_team``) with an attack that writes
``("adversary", "action")``.

``victims`` = m is how many agents one attacked episode hands to the attack (``game.victims``, section D.5):
the env's ``"victim"`` is then a victim-set index of ``space.sets`` and the attack plays each of the set's
agents on its own observation. A BATPAL-family team is tied to its run's m (chi's belief is over its sets); a
MAPPO team can be evaluated with any m (``set_victims``).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torchrl.envs import InitTracker, TransformedEnv
from torchrl.modules import MaskedCategorical, ProbabilisticActor

from batpal.artifacts import REFERENCE_POLICY, load_reference_policy
from batpal.game.fixed_victims import FixedVictims
from batpal.game.types import TypeSpace
from batpal.nn.actor import AgentActorNet, actor_net

AGENTS = "agents"
DEFENDER_WEIGHTS = "defender.pt"
CONFIG = "config.yaml"
SUMMARY = "summary.json"
ADVERSARIAL = "adversarial"  # the stage that writes defender.pt
METHOD_LABELS = {
    "batpal": "BATPAL",
    "mappo": "MAPPO",
    "eir_mappo": "EIR-MAPPO",
    "gen_maxmin": "Gen-Maxmin",
    "rap": "RAP",
    "kt": "KT",
    "fixed_types": "Fixed Types",
}


class Defender(ABC):
    """A frozen team from ``run_dir``: env facts, the transforms its policy needs, the policy and its pi0."""

    default_name = "defender"  # the label when neither the caller nor the run's config names one

    def __init__(self, run_dir: str | Path, name: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        _require(self.run_dir, CONFIG, "the run's resolved config")
        _require(self.run_dir, REFERENCE_POLICY, "the reference policy pi0 of the pretrain stage")
        cfg = OmegaConf.load(self.run_dir / CONFIG)
        self._pi0, meta = load_reference_policy(self.run_dir / REFERENCE_POLICY)
        self.env_name: str = meta["env"]
        self.dims: dict[str, int] = dict(meta["dims"])
        self.env_kwargs: dict[str, Any] = OmegaConf.to_container(cfg.env.get("kwargs", {})) or {}
        self.max_episode_steps: int = int(cfg.env.max_episode_steps)
        self.gamma: float = float(OmegaConf.select(cfg, "ppo.gamma", default=0.99))
        self.name: str = name or self.label_of(cfg)
        self.victims: int = int(OmegaConf.select(cfg, "game.victims", default=1) or 1)

    @property
    def n_agents(self) -> int:
        return self.dims["n_agents"]

    @property
    def space(self) -> TypeSpace:
        """The victim sets an attacked episode draws from (``space.members`` [n_sets, m])."""
        return TypeSpace(self.n_agents, 1, self.victims)

    def set_victims(self, victims: int) -> None:
        """Evaluate with ``victims`` simultaneous victims (1 <= m < N)."""
        TypeSpace(self.n_agents, 1, victims)  # a clear error for m out of range
        self.victims = victims

    def label_of(self, cfg: Any) -> str:
        """The paper's name of the run's method (config ``method``: eir_mappo -> EIR-MAPPO), else ``default_name``."""
        method = cfg.get("method")
        return METHOD_LABELS.get(method, method) if isinstance(method, str) else self.default_name

    def decorate(self, env: TransformedEnv, victim: torch.Tensor, seed: int) -> TransformedEnv:
        """Appends the constant per-env ``victim`` [B] (-1 = no attack); subclasses add what their team reads."""
        env.append_transform(FixedVictims(victim.to(env.device), self.n_agents, victims=self.victims))
        return env

    @abstractmethod
    def policy(self) -> TensorDictModuleBase:
        """The frozen team writing ``("agents", "action")`` [B, N] long, sampled, for every agent."""

    def reference_policy(self) -> ProbabilisticActor:
        """The run's frozen pi0 (``log pi0(a | o)`` measures how abnormal the victim's actions look)."""
        return self._pi0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, run_dir='{self.run_dir}', env={self.env_name!r})"


class ReferenceDefender(Defender):
    """A MAPPO run: every agent plays pi0 (the paper's MAPPO column)."""

    default_name = "MAPPO"

    def __init__(self, run_dir: str | Path, name: str | None = None) -> None:
        super().__init__(run_dir, name)
        self._team = SampledTeam(actor_net(self._pi0))

    def label_of(self, cfg: Any) -> str:
        """Always MAPPO: a run without the adversarial stage plays pi0, whatever its ``method`` says."""
        return self.default_name

    def policy(self) -> TensorDictModuleBase:
        return self._team


class GameDefender(Defender):
    """A BATPAL-family run: pi_omega on chi's belief in world 1; attacked envs carry the type (v, ``severity``).

    The type only feeds the team's inputs that read it (Perfect Belief reads the true type); JointPolicy then
    writes psi_k's actions into the victim set's slots, which ``AttackedTeam`` replaces by the attack's.
    """

    default_name = "BATPAL"

    def __init__(self, run_dir: str | Path, name: str | None = None, severity: int = 1) -> None:
        from batpal.modules.factory import load_game_module

        super().__init__(run_dir, name)
        self.module = load_game_module(self.run_dir, DEFENDER_WEIGHTS).requires_grad_(False)
        self.victims = self.module.space.victims
        self.module.policy_input.teacher_forcing = 0.0  # the defender acts on chi's belief, never on the truth
        if not 1 <= severity <= self.K:
            raise ValueError(f"severity must lie in 1..K = 1..{self.K} for {self.run_dir}, got {severity}.")
        self.severity = severity

    def label_of(self, cfg: Any) -> str:
        """The run's method in the paper's spelling; never MAPPO, whose team is pi0 alone."""
        if cfg.get("method") == "mappo":
            raise ValueError(
                f"defender run {self.run_dir} says method mappo but ran the adversarial stage (its team is "
                "pi_omega, not MAPPO's pi0); name it explicitly: defenders=['<label>=<run dir>']."
            )
        return super().label_of(cfg)

    @property
    def K(self) -> int:
        return self.module.space.K

    @property
    def space(self) -> TypeSpace:
        return self.module.space

    def set_victims(self, victims: int) -> None:
        """Only the run's own m: chi's belief and pi_omega were trained over its victim sets."""
        if victims != self.victims:
            raise ValueError(
                f"defender {self.name} ({self.run_dir}) was trained with game.victims={self.victims}; it cannot be "
                f"evaluated with victims={victims} (its belief is over sets of {self.victims} agents)."
            )

    def decorate(self, env: TransformedEnv, victim: torch.Tensor, seed: int) -> TransformedEnv:
        """is_init (episode starts for chi), victim and type keys (world 1), then chi's recurrent state."""
        env.append_transform(InitTracker())
        env.append_transform(FixedVictims(victim.to(env.device), self.n_agents, self.K, self.severity, self.victims))
        env.append_transform(self.module.belief.primer())
        self.module.policy_input.generator.manual_seed(seed)
        return env

    def policy(self) -> TensorDictModuleBase:
        return self.module.rollout_policy()


class SampledTeam(TensorDictModuleBase):
    """Every agent samples from one shared actor net on its observation, masked (pi0 as a team)."""

    def __init__(self, net: AgentActorNet) -> None:
        super().__init__()
        self.net = net
        self.in_keys = [(AGENTS, "observation"), (AGENTS, "action_mask")]
        self.out_keys = [(AGENTS, "action")]

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        logits = self.net(td.get((AGENTS, "observation")))  # [B, N, A]
        td.set((AGENTS, "action"), MaskedCategorical(logits=logits, mask=td.get((AGENTS, "action_mask"))).sample())
        return td


def load_defender(run_dir: str | Path, name: str | None = None, severity: int = 1) -> Defender:
    """The defender of a finished run (``check_finished``): BATPAL-family if its stages include ``adversarial``
    (it must then hold ``defender.pt``), else MAPPO (pi0 alone).

    ``name`` labels it (default: the config's method in the paper's spelling, MAPPO for a run without the
    adversarial stage); ``severity`` is the k of the type (v, k) a BATPAL-family team's attacked episodes carry.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"defender directory {run_dir} does not exist.")
    _require(run_dir, CONFIG, "the run's resolved config")
    stages = check_finished(run_dir, OmegaConf.load(run_dir / CONFIG))
    if ADVERSARIAL in stages:
        return GameDefender(run_dir, name, severity)
    return ReferenceDefender(run_dir, name)


def check_finished(run_dir: Path, cfg: Any) -> list[str]:
    """The run's stages, once every one is in its ``summary.json`` and its artefacts exist; clear errors else."""
    stages = cfg.get("stages")
    if not isinstance(stages, Sequence) or isinstance(stages, str) or not stages:
        raise ValueError(
            f"defender directory {run_dir}: its {CONFIG} has no stages list, so it is not a run directory of "
            f"`python -m batpal.fit` (whose {CONFIG} names the stages it ran, e.g. stages: [pretrain])."
        )
    stages = [str(stage) for stage in stages]
    _require(run_dir, REFERENCE_POLICY, "the reference policy pi0 of the pretrain stage")
    summary = run_dir / SUMMARY
    try:
        done = json.loads(summary.read_text()) if summary.is_file() else {}
    except (OSError, ValueError) as err:
        raise ValueError(f"defender directory {run_dir}: its {SUMMARY} cannot be read ({err}).") from err
    missing = [stage for stage in stages if stage not in done]
    if missing:
        raise ValueError(
            f"defender run {run_dir} is unfinished: it has not finished stage(s) {missing} of its stages {stages} "
            f"(not in its {SUMMARY}). Resume it with `python -m batpal.fit ... hydra.run.dir={run_dir} "
            "ckpt_path=last` first, or pass a finished run."
        )
    if ADVERSARIAL in stages and not (run_dir / DEFENDER_WEIGHTS).is_file():
        raise FileNotFoundError(
            f"defender run {run_dir} ran the adversarial stage (its stages {stages}) but has no "
            f"{DEFENDER_WEIGHTS} (its team pi_omega, belief chi and adversaries psi_k), and a BATPAL-family run is "
            f"never evaluated as its pi0. Restore {DEFENDER_WEIGHTS} (written by the adversarial stage)."
        )
    return stages


def _require(run_dir: Path, file: str, what: str) -> None:
    if not (run_dir / file).is_file():
        raise FileNotFoundError(
            f"defender directory {run_dir} has no {file} ({what}); a defender is a finished run directory of "
            f"`python -m batpal.fit` holding {CONFIG}, {REFERENCE_POLICY} and, for BATPAL-family runs, "
            f"{DEFENDER_WEIGHTS}."
        )
