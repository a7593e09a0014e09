"""One recorded episode for a video: a defender's team with an attack on a fixed victim (set), on a one-env batch.

A separate episode, played after the cross table is written: the evaluation's numbers never see it. It runs on a
fresh batch of one env built like the evaluation's (``batpal.envs.make``, the defender's transforms and
``AttackedTeam``), its env and policy seeded with ``seed`` and the caller's global RNG left as it was. A
``StateRecorder`` at the end of the env's transforms copies the simulator's state after the reset and every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torchrl.envs import EnvBase, Transform
from torchrl.envs.utils import ExplorationType, set_exploration_type

from batpal.envs import make
from batpal.eval.attacked_team import AttackedTeam
from batpal.eval.defenders import Defender

Snapshot = Callable[[EnvBase], dict[str, np.ndarray]]  # env 0's state of a batched base env


@dataclass
class Recording:
    """States 0..T (after the reset, then after each step), the T joint actions the env stepped, and the victims."""

    states: list[dict[str, np.ndarray]]
    actions: np.ndarray  # [T, N] long, the attack's action in the victims' slots
    victims: tuple[int, ...]  # the agents the attack played; () without a victim
    team_return: float
    meta: dict[str, Any] = field(default_factory=dict)  # the env's fixed settings a renderer needs

    @property
    def steps(self) -> int:
        return int(self.actions.shape[0])


class StateRecorder(Transform):
    """Appends ``snapshot(base)`` after every reset and step of the env it ends (reads the simulator, changes
    nothing)."""

    def __init__(self, base: EnvBase, snapshot: Snapshot) -> None:
        super().__init__()
        self.base, self.snapshot = base, snapshot
        self.states: list[dict[str, np.ndarray]] = []

    def _call(self, next_tensordict: TensorDictBase) -> TensorDictBase:
        self.states.append(self.snapshot(self.base))
        return next_tensordict

    def _reset(self, tensordict: TensorDictBase, tensordict_reset: TensorDictBase) -> TensorDictBase:
        self.states.append(self.snapshot(self.base))
        return tensordict_reset


@torch.no_grad()
def record_episode(
    defender: Defender,
    attack: TensorDictModuleBase,
    victim: int,
    seed: int,
    snapshot: Snapshot,
    meta: Callable[[EnvBase], dict[str, Any]],
) -> Recording:
    """Play one episode of ``defender``'s team with ``attack`` on victim (set) ``victim`` (-1: nobody)."""
    space = defender.space
    env = make(defender.env_name, 1, seed, "cpu", **defender.env_kwargs)
    try:
        base = env.base_env
        env = defender.decorate(env, torch.tensor([victim]), seed)
        recorder = StateRecorder(base, snapshot)
        env.append_transform(recorder)
        policy = AttackedTeam(defender.policy(), attack, space.members if space.victims > 1 else None)
        with torch.random.fork_rng(devices=[]), set_exploration_type(ExplorationType.RANDOM):
            torch.manual_seed(seed)
            env.set_seed(seed)
            traj = env.rollout(defender.max_episode_steps, policy, break_when_any_done=True)  # [1, T]
        info = meta(base)
    finally:
        env.close(raise_if_closed=False)
    victims = () if victim < 0 else tuple(int(a) for a in space.members[victim])
    return Recording(
        states=recorder.states,
        actions=traj.get(("agents", "action"))[0].cpu().numpy(),
        victims=victims,
        team_return=float(traj.get(("next", "reward")).sum()),
        meta=info,
    )
