"""How a trained defender's beliefs evolve within an episode, for each true type z (section 4.2, chi).

Each chosen type is played for whole episodes in world 1 (the team is pi_omega, acting on chi's belief with
no teacher forcing, as at test time); the victim's slot is psi_k, or any ``attack`` policy. What comes back
is every agent's belief b_i at every step, with each episode's return.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from tensordict.nn import TensorDictModuleBase
from torchrl.envs import InitTracker
from torchrl.envs.utils import ExplorationType, set_exploration_type

from batpal.envs import make
from batpal.game.types import TypeSpace
from batpal.game.worlds import TypeAssignment

if TYPE_CHECKING:
    from batpal.modules.batpal import BATPALModule

TypeLike = int | tuple[int, int]
BELIEF = ("agents", "belief")


@dataclass
class BeliefTrajectories:
    """The episodes of one true type z: beliefs [episodes, T, N, D] (NaN after an episode's end), returns.

    D is |Z| = 1 + N K for softmax beliefs (index convention of ``batpal.game.types``), N + K for sigmoid ones.
    """

    type_index: int
    victim: int  # -1 when z = 0
    severity: int  # 0 when z = 0
    beliefs: torch.Tensor  # [episodes, T, N, D]
    alive: torch.Tensor  # [episodes, T] bool: steps of the episode
    returns: torch.Tensor  # [episodes] undiscounted team return
    types: torch.Tensor  # [episodes, T] the type the env carried (always type_index; kept to check it)
    actions: torch.Tensor  # [episodes, T, N] the actions played, the victim's slot holding psi_k's / the attack's
    mode: str  # "softmax" | "sigmoid"
    n_agents: int
    K: int
    attack: str | None = None  # the attack's name where it replaced psi_k

    @property
    def label(self) -> str:
        """``no attack``, ``psi_k on victim v`` or ``<attack> on victim v``."""
        if self.type_index == 0:
            return "no attack"
        by = self.attack or f"psi_{self.severity}"
        return f"{by} on victim {self.victim}"


def resolve_type(space: TypeSpace, z: TypeLike) -> int:
    """A type index from an index (0 = no attack) or a (victim, severity) pair."""
    if isinstance(z, tuple | list):
        victim, severity = z
        if not 1 <= int(severity) <= space.K:
            raise ValueError(f"severity must lie in 1..K = 1..{space.K}, got {severity} (use 0 for no attack).")
        return int(space.type_index(int(victim), int(severity)))
    return int(space.check(int(z)))


@torch.no_grad()
def belief_trajectories(
    source: str | Path | BATPALModule,
    types: Sequence[TypeLike],
    episodes: int = 32,
    seed: int = 0,
    *,
    attack: TensorDictModuleBase | None = None,
    max_episode_steps: int | None = None,
) -> dict[int, BeliefTrajectories]:
    """Plays ``episodes`` episodes of each type in ``types``; returns {type index: its trajectories}.

    ``source``: a run directory (loaded with ``load_game_module``) or a BATPALModule. ``attack``: a policy
    for the victim's slot instead of psi_k, writing ``("adversary", "action")`` [B] (``batpal.attacks``, e.g.
    ``make_attack("random")``); the type then only names the victim, and the trajectories its ``label``.
    Each type's episodes depend on ``seed`` and the type alone, not on the other types asked for.
    """
    module = _as_module(source)
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    steps = int(max_episode_steps or module.max_episode_steps)
    if module.space.victims > 1:  # the views (belief_views) and attacks read one victim agent per episode
        raise ValueError(
            f"belief trajectories are single-victim only; this run has game.victims={module.space.victims}."
        )
    policy = module.rollout_policy()
    if attack is not None:
        from batpal.eval.attacked_team import AttackedTeam

        policy = AttackedTeam(policy, attack)
    out: dict[int, BeliefTrajectories] = {}
    with _test_time(module):
        for z in dict.fromkeys(resolve_type(module.space, t) for t in types):
            out[z] = _play(module, policy, z, episodes, seed + 1009 * z, steps)
            if attack is not None and z > 0:
                out[z].attack = str(getattr(attack, "label", type(attack).__name__))
    return out


@contextmanager
def _test_time(module: BATPALModule) -> Iterator[None]:
    """As ``evaluate_type`` plays: the policy sees chi's belief only (no teacher forcing), and psi_k acts at
    every step of an attacked episode (Gen-Maxmin trains with a per-step attack probability below 1)."""
    joint = module.joint
    saved = module.policy_input.teacher_forcing, getattr(joint, "attack_prob", None)
    module.policy_input.teacher_forcing = 0.0
    if saved[1] is not None:
        joint.attack_prob = 1.0
    try:
        yield
    finally:
        module.policy_input.teacher_forcing = saved[0]
        if saved[1] is not None:
            joint.attack_prob = saved[1]


def _as_module(source: str | Path | BATPALModule) -> BATPALModule:
    if isinstance(source, str | Path):
        from batpal.modules.factory import load_game_module

        return load_game_module(source)
    return source


def _play(
    module: BATPALModule, policy: TensorDictModuleBase, z: int, episodes: int, seed: int, steps: int
) -> BeliefTrajectories:
    """One batch of ``episodes`` envs, all of type z in world 1, each played until its first episode ends."""
    space = module.space
    env = make(module.env_name, episodes, seed, module.device, **module.env_kwargs)
    world = torch.ones(episodes, dtype=torch.long, device=env.device)
    draw = TypeAssignment(module.prior.probs.float(), space.n_sets, space.K, world, seed)
    draw.set_fixed_type(z)
    env.append_transform(InitTracker())
    env.append_transform(draw)
    env.append_transform(module.belief.primer())
    try:
        with torch.random.fork_rng(devices=[]), set_exploration_type(ExplorationType.RANDOM):
            torch.manual_seed(seed)  # the actions' sampling, without touching the caller's generator
            traj = env.rollout(steps, policy, break_when_any_done=False)  # [episodes, T]
    finally:
        env.close()
    done = traj.get(("next", "done")).squeeze(-1)  # [episodes, T]
    if not bool(done.any(-1).all()):
        raise RuntimeError(f"an episode of {module.env_name} ran past max_episode_steps={steps}.")
    t = torch.arange(done.shape[-1], device=done.device)
    first_end = torch.where(done, t, done.shape[-1]).min(-1).values  # [episodes]
    alive = t <= first_end.unsqueeze(-1)  # [episodes, T]
    beliefs = traj.get(BELIEF).float()  # [episodes, T, N, D]
    beliefs = beliefs.masked_fill(~alive[..., None, None], float("nan"))
    reward = traj.get(("next", "reward")).squeeze(-1)  # [episodes, T]
    return BeliefTrajectories(
        type_index=z,
        victim=int(space.victim_of(z)),
        severity=int(space.severity_of(z)),
        beliefs=beliefs.cpu(),
        alive=alive.cpu(),
        returns=(reward * alive).sum(-1).cpu(),
        types=traj.get("type").cpu(),
        actions=traj.get(("agents", "action")).cpu(),
        mode=module.belief.mode,
        n_agents=space.n_agents,
        K=space.K,
    )
