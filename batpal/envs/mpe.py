"""Batched torch port of mpe2 ``simple_spread_v3`` (discrete actions), stepped as one tensor program.

Why: the pettingzoo original steps one world at a time in Python (~4k env-steps/s); this port steps
``num_envs`` worlds at once on CPU or GPU with the exact same dynamics, observations and rewards
(checked step by step against mpe2 in ``tests/envs/test_mpe.py``).

Semantics reproduced from mpe2 1.1.1 (``simple_spread_v3.parallel_env(N, local_ratio, max_cycles)``):

* physics: ``pos += vel * dt`` with the *old* velocity, then ``vel = vel * (1 - damping) + force / mass * dt``;
  dt 0.1, damping 0.25, mass 1, no max speed, no noise; the action force is ``5 * move`` with moves
  ``[noop, -x, +x, -y, +y]``; every pair of agents (size 0.15 each) pushes apart with the soft contact force
  ``100 * delta / dist * k * logaddexp(0, -(dist - 0.3) / k)``, k = 1e-3, even when not overlapping
  (then it is ~0); landmarks neither collide nor move.
* observation of agent i (6N floats, the same size for every agent): ``[vel_i, pos_i, landmark_l - pos_i
  for each l, pos_j - pos_i for j != i in index order, zeros(2) per other agent]`` (the silent agents' comm).
* reward, from post-step positions: ``global = -sum_l min_i |pos_i - landmark_l|``, ``local_i = -#{j != i:
  |pos_i - pos_j| < 0.3}`` (self excluded), ``r_i = (1 - local_ratio) * global + local_ratio * local_i``;
  the team reward written here is ``sum_i r_i``.
* episodes are truncated after ``max_steps`` steps and never terminate; starts are uniform in [-1, 1]^2
  for agents and landmarks, velocities zero.

Layout: the world is one coordinate-major buffer ``world`` [6N, B] (rows ``2e + c`` of three blocks:
agent velocities, agent positions, landmark positions), so every op runs on contiguous rows of length B;
observations are gathered from it with fixed row indices and transposed once per step.
``world``, ``step_count`` and (through ``get_extra_state``) the generator state are all in
``env.state_dict()``, so ``env.load_state_dict()`` restores everything that determines the future of a run
(``TransformedEnv`` users: call them on ``env.base_env``).
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from batpal.envs.generator_state import GeneratorState

_MOVES = ((0.0, 0.0), (-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0))  # mpe2's discrete action -> direction


def _observation_rows(n: int) -> tuple[list[int], list[int]]:
    """Row indices (plus, minus) into ``[world; 0]`` so that ``obs = plus - minus`` is mpe2's observation."""
    zero, vel, pos, lmk = 6 * n, 0, 2 * n, 4 * n
    plus: list[int] = []
    minus: list[int] = []
    for i in range(n):
        plus += [vel + 2 * i, vel + 2 * i + 1, pos + 2 * i, pos + 2 * i + 1]
        minus += [zero] * 4
        for e, block in [(e, lmk) for e in range(n)] + [(j, pos) for j in range(n) if j != i]:
            plus += [block + 2 * e, block + 2 * e + 1]
            minus += [pos + 2 * i, pos + 2 * i + 1]
        plus += [zero] * (2 * (n - 1))  # communication of the silent other agents
        minus += [zero] * (2 * (n - 1))
    return plus, minus


class MPESpreadEnv(GeneratorState, EnvBase):
    """``num_envs`` simple_spread worlds with ``n_agents`` agents and as many landmarks; see the module doc."""

    DT = 0.1
    DAMPING = 0.25
    MASS = 1.0
    SENSITIVITY = 5.0
    AGENT_SIZE = 0.15
    CONTACT_FORCE = 1e2
    CONTACT_MARGIN = 1e-3
    DIM_C = 2
    N_ACTIONS = len(_MOVES)

    def __init__(
        self,
        num_envs: int = 1,
        n_agents: int = 3,
        max_steps: int = 50,
        local_ratio: float = 0.5,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        seed: int | None = None,
    ) -> None:
        if n_agents < 2:
            raise ValueError(f"n_agents must be >= 2, got {n_agents}.")
        if not 0.0 <= local_ratio <= 1.0:
            raise ValueError(f"local_ratio must be in [0, 1], got {local_ratio}.")
        super().__init__(device=device, batch_size=torch.Size([num_envs]))
        self.num_envs, self.n_agents, self.max_steps = int(num_envs), int(n_agents), int(max_steps)
        self.local_ratio, self.dtype = float(local_ratio), dtype
        self.obs_dim = 4 + 2 * n_agents + 2 * (n_agents - 1) + self.DIM_C * (n_agents - 1)
        b, n, dev = self.num_envs, self.n_agents, self.device
        self.register_buffer("world", torch.zeros(6 * n, b, dtype=dtype, device=dev))  # [6N, B]
        self.register_buffer("step_count", torch.zeros(b, dtype=torch.long, device=dev))  # [B]
        plus, minus = _observation_rows(n)
        self.register_buffer("_obs_plus", torch.tensor(plus, device=dev), persistent=False)  # [N*obs_dim]
        self.register_buffer("_obs_minus", torch.tensor(minus, device=dev), persistent=False)  # [N*obs_dim]
        pairs = [(i, j) for i in range(n) for j in range(n) if j != i]  # (agent, other) in mpe2's obs order
        self_rows = [2 * i + c for i, _ in pairs for c in (0, 1)]  # rows of the position block
        other_rows = [2 * j + c for _, j in pairs for c in (0, 1)]
        self.register_buffer("_pair_self", torch.tensor(self_rows, device=dev), persistent=False)  # [N(N-1)*2]
        self.register_buffer("_pair_other", torch.tensor(other_rows, device=dev), persistent=False)  # [N(N-1)*2]
        moves = torch.tensor(_MOVES, dtype=dtype, device=dev).T * self.SENSITIVITY
        self.register_buffer("_action_force", moves.contiguous(), persistent=False)  # [2, A]
        self.register_buffer("_zero_row", torch.zeros(1, b, dtype=dtype, device=dev), persistent=False)  # [1, B]
        self._generator = torch.Generator(device=dev)
        self._make_specs()
        self.set_seed(seed)

    def _make_specs(self) -> None:
        """Build the shared multi-agent layout once (specs are never rebuilt per step)."""
        b, n, dev = self.num_envs, self.n_agents, self.device
        self.observation_spec = Composite(
            agents=Composite(
                observation=Unbounded((b, n, self.obs_dim), dtype=self.dtype, device=dev),
                action_mask=Categorical(2, (b, n, self.N_ACTIONS), dtype=torch.bool, device=dev),
                shape=(b, n),
            ),
            state=Unbounded((b, n * self.obs_dim), dtype=self.dtype, device=dev),
            shape=(b,),
        )
        self.action_spec = Composite(
            agents=Composite(action=Categorical(self.N_ACTIONS, (b, n), dtype=torch.long, device=dev), shape=(b, n)),
            shape=(b,),
        )
        self.reward_spec = Unbounded((b, 1), dtype=self.dtype, device=dev)
        self.done_spec = Composite(
            done=Categorical(2, (b, 1), dtype=torch.bool, device=dev),
            terminated=Categorical(2, (b, 1), dtype=torch.bool, device=dev),
            truncated=Categorical(2, (b, 1), dtype=torch.bool, device=dev),
            shape=(b,),
        )

    # ----------------------------------------------------------------- torchrl API
    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        """Redraw the worlds flagged by ``"_reset"`` [B, 1] (all if absent); the others keep their state."""
        n = self.n_agents
        draw = torch.rand(4 * n, self.num_envs, generator=self._generator, dtype=self.dtype, device=self.device)
        draw = draw * 2.0 - 1.0  # [4N, B] agent then landmark positions, uniform in [-1, 1) as mpe2
        reset = None if tensordict is None else tensordict.get("_reset", None)
        if reset is None:
            self.world[2 * n :].copy_(draw)
            self.world[: 2 * n].zero_()
            self.step_count.zero_()
        else:
            mask = reset.reshape(self.num_envs)  # [B]
            self.world[2 * n :].copy_(torch.where(mask, draw, self.world[2 * n :]))
            self.world[: 2 * n].masked_fill_(mask, 0.0)
            self.step_count.masked_fill_(mask, 0)
        return self._output(self._observe_rows(), None)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        """Advance every world by one mpe2 step and return obs, team reward and done flags."""
        n, b = self.n_agents, self.num_envs
        action = tensordict.get(("agents", "action"))  # [B, N]
        vel, pos = self.world[: 2 * n], self.world[2 * n : 4 * n]  # [2N, B] each, views
        delta = pos.index_select(0, self._pair_self) - pos.index_select(0, self._pair_other)
        delta = delta.view(n, n - 1, 2, b)  # [N, N-1, 2, B] pos_i - pos_j
        dist = delta.square().sum(2, keepdim=True).sqrt()  # [N, N-1, 1, B]
        k = self.CONTACT_MARGIN
        penetration = torch.logaddexp(self._zero_row, -(dist - 2 * self.AGENT_SIZE) / k) * k  # [N, N-1, 1, B]
        contact = (self.CONTACT_FORCE * delta / dist * penetration).sum(1)  # [N, 2, B]
        force = contact + self._action_force[:, action.T].transpose(0, 1)  # [N, 2, B]
        pos.add_(vel * self.DT)  # position first, with the pre-step velocity (mpe2's order)
        vel.mul_(1.0 - self.DAMPING).add_(force.view(2 * n, b) * (self.DT / self.MASS))
        self.step_count.add_(1)
        rows = self._observe_rows()
        return self._output(rows, self._team_reward(rows))

    # ----------------------------------------------------------------- simulator
    def _observe_rows(self) -> torch.Tensor:
        """Every agent's mpe2 observation, coordinate-major: [N*obs_dim, B]."""
        padded = torch.cat((self.world, self._zero_row))  # [6N+1, B]
        return padded.index_select(0, self._obs_plus) - padded.index_select(0, self._obs_minus)

    def _team_reward(self, rows: torch.Tensor) -> torch.Tensor:
        """Sum over agents of mpe2's per-agent reward, read off the post-step observations ``rows``."""
        n, b = self.n_agents, self.num_envs
        per_agent = rows.view(n, self.obs_dim, b)
        to_landmarks = per_agent[:, 4 : 4 + 2 * n].reshape(n, n, 2, b).square().sum(2).sqrt()  # [N, L, B]
        global_reward = -to_landmarks.amin(0).sum(0)  # [B]
        others = per_agent[:, 4 + 2 * n : 2 + 4 * n].reshape(n, n - 1, 2, b)  # [N, N-1, 2, B]
        collisions = (others.square().sum(2).sqrt() < 2 * self.AGENT_SIZE).sum(1)  # [N, B], self excluded
        rewards = global_reward * (1.0 - self.local_ratio) - collisions.to(self.dtype) * self.local_ratio  # [N, B]
        return rewards.sum(0).unsqueeze(-1)  # [B, 1]

    def _output(self, rows: torch.Tensor, reward: torch.Tensor | None) -> TensorDictBase:
        """Pack observations ``rows`` [N*obs_dim, B] and flags into the shared layout (no reward on reset)."""
        b, n = self.num_envs, self.n_agents
        state = rows.T.contiguous()  # [B, N*obs_dim]; the observation below is a view of it
        truncated = (self.step_count >= self.max_steps).unsqueeze(-1)  # [B, 1]
        agents = TensorDict(
            {
                "observation": state.view(b, n, self.obs_dim),  # [B, N, obs_dim]
                "action_mask": torch.ones(b, n, self.N_ACTIONS, dtype=torch.bool, device=self.device),
            },
            batch_size=(b, n),
        )
        out = {
            "agents": agents,
            "state": state,
            "done": truncated.clone(),
            "terminated": torch.zeros_like(truncated),
            "truncated": truncated,
        }
        if reward is not None:
            out["reward"] = reward
        return TensorDict(out, batch_size=(b,), device=self.device)

    # ----------------------------------------------------------------- state access
    def _block(self, block: int) -> torch.Tensor:
        """Copy of one [2N, B] block of ``world`` as [B, N, 2]."""
        n = self.n_agents
        return self.world[2 * n * block : 2 * n * (block + 1)].T.reshape(self.num_envs, n, 2)

    @property
    def agent_vel(self) -> torch.Tensor:
        """Agent velocities [B, N, 2] (a copy)."""
        return self._block(0)

    @property
    def agent_pos(self) -> torch.Tensor:
        """Agent positions [B, N, 2] (a copy)."""
        return self._block(1)

    @property
    def landmark_pos(self) -> torch.Tensor:
        """Landmark positions [B, L, 2] (a copy)."""
        return self._block(2)

    def set_positions(self, agent_pos: torch.Tensor, landmark_pos: torch.Tensor) -> TensorDictBase:
        """Start every world from given positions (zero velocity, step 0), e.g. from mpe2's own initial draw.

        ``agent_pos`` and ``landmark_pos`` are [B, N, 2]; returns the reset-style output tensordict.
        """
        n, b = self.n_agents, self.num_envs
        self.world[2 * n : 4 * n].copy_(agent_pos.reshape(b, 2 * n).T)
        self.world[4 * n :].copy_(landmark_pos.reshape(b, 2 * n).T)
        self.world[: 2 * n].zero_()
        self.step_count.zero_()
        return self._output(self._observe_rows(), None)


def make_spread(num_envs: int, seed: int, device: torch.device, **kwargs: Any) -> MPESpreadEnv:
    """Registry factory: ``num_envs`` batched simple_spread worlds (kwargs go to :class:`MPESpreadEnv`)."""
    return MPESpreadEnv(num_envs=num_envs, seed=seed, device=device, **kwargs)
