"""Level-Based Foraging (lbforaging 2.0.0) as a batched TorchRL env with the shared multi-agent layout.

``GymWrapper`` cannot digest lbforaging's tuple spaces, so ``LBFEnv`` holds ``num_envs`` ``ForagingEnv``
instances and loops over them in Python, writing into preallocated numpy buffers that become torch tensors
once per step. Team reward is the sum of the players' (normalised) rewards; the global state is the
concatenation of the agents' observations, as the BATPAL authors do. ``env_state`` / ``load_env_state``
snapshot and restore every game (field, players, step count, numpy RNG) for mid-run checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from lbforaging.foraging.environment import ForagingEnv
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

# Paper setting: 10x10 field, 5 players, 10 food, cooperative food, 50 steps (registered-id player levels).
LBF_DEFAULTS: dict[str, object] = dict(
    players=5,
    min_player_level=1,
    max_player_level=2,
    min_food_level=1,
    max_food_level=None,
    field_size=(10, 10),
    max_num_food=10,
    sight=5,
    max_episode_steps=50,
    force_coop=True,
    normalize_reward=True,
    grid_observation=False,
    observe_agent_levels=True,
    penalty=0.0,
)


def food_capacity(rows: int, cols: int) -> int:
    """Most food a ``rows x cols`` field can ever hold: food spawns off the border and no two food are 8-neighbours,
    so each 2x2 block of the interior holds at most one."""
    return -(-(rows - 2) // 2) * -(-(cols - 2) // 2)


def _per(value: Any, count: int, key: str) -> list[int]:
    """A scalar option broadcast to ``count`` entries, or lbforaging's per-entity list checked for its length."""
    if not isinstance(value, Iterable):
        return [int(value)] * count
    values = [int(v) for v in value]
    if len(values) != count:
        raise ValueError(f"LBF option {key} lists {len(values)} levels for {count} entities: give one each.")
    return values


def check_lbf_settings(cfg: dict[str, Any], extra: Iterable[str] = ()) -> None:
    """Raise a ValueError naming the bad option of ``cfg`` (``LBF_DEFAULTS``' keys and ``extra``) before any game is
    built, instead of a hang, a silent fallback or an index error deep in a reset."""
    known = {*LBF_DEFAULTS, *extra}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ValueError(f"Unknown LBF option(s) {unknown}; known options: {', '.join(sorted(known))}.")
    for key in ("players", "sight", "max_num_food", "max_episode_steps"):
        if int(cfg[key]) < 1:
            raise ValueError(f"LBF option {key} must be >= 1, got {cfg[key]!r}.")
    size = cfg["field_size"]
    if not isinstance(size, Iterable) or len(list(size)) != 2 or min(int(x) for x in size) < 3:
        raise ValueError(
            f"LBF option field_size must be (rows, cols), each >= 3 (food spawns off the border), got {size!r}."
        )
    rows, cols = (int(x) for x in size)
    n, f = int(cfg["players"]), int(cfg["max_num_food"])
    if n >= rows * cols:  # a reset still counts each player's previous cell: n + 1 cells are needed
        raise ValueError(f"LBF option players={n} needs fewer players than the {rows}x{cols} field's cells.")
    if f > food_capacity(rows, cols):
        raise ValueError(
            f"LBF option max_num_food={f} is more food than a {rows}x{cols} field can hold "
            f"({food_capacity(rows, cols)}: one per 2x2 block of the interior)."
        )
    low_pl = _per(cfg["min_player_level"], n, "min_player_level")
    high_pl = _per(cfg["max_player_level"], n, "max_player_level")
    if min(low_pl) < 1:
        raise ValueError(f"LBF option min_player_level must be >= 1, got {cfg['min_player_level']!r}.")
    if any(lo > hi for lo, hi in zip(low_pl, high_pl, strict=True)):
        raise ValueError(
            f"LBF option min_player_level={cfg['min_player_level']!r} exceeds "
            f"max_player_level={cfg['max_player_level']!r}."
        )
    low_food = _per(cfg["min_food_level"], f, "min_food_level")
    if min(low_food) < 1:
        raise ValueError(f"LBF option min_food_level must be >= 1, got {cfg['min_food_level']!r}.")
    if cfg["max_food_level"] is not None:
        high_food = _per(cfg["max_food_level"], f, "max_food_level")
        if any(lo > hi for lo, hi in zip(low_food, high_food, strict=True)):
            raise ValueError(
                f"LBF option min_food_level={cfg['min_food_level']!r} exceeds max_food_level={cfg['max_food_level']!r}."
            )
    elif not cfg["force_coop"] and max(low_food) > sum(sorted(low_pl)[:3]):  # the cap: the 3 lowest player levels
        raise ValueError(
            f"LBF option min_food_level={cfg['min_food_level']!r} exceeds the food-level cap (the sum of "
            f"the 3 lowest player levels, as low as {sum(sorted(low_pl)[:3])}): set max_food_level."
        )


class LBFEnv(EnvBase):
    """``num_envs`` lbforaging games stepped in a Python loop; batch dims ``[num_envs]``.

    Episodes end with ``terminated`` when all food is eaten and with ``truncated`` at lbforaging's own
    step limit. The action spec's mask tracks the current valid actions, so ``rand_action`` is valid too.
    """

    def __init__(self, num_envs: int, seed: int = 0, device: str | torch.device = "cpu", **lbf_kwargs) -> None:
        kwargs = {**LBF_DEFAULTS, **lbf_kwargs}
        check_lbf_settings(kwargs, extra=("render_mode",))
        super().__init__(device=device, batch_size=torch.Size([num_envs]))
        self.envs = [ForagingEnv(**kwargs) for _ in range(num_envs)]
        self.n_agents = self.envs[0].n_agents
        self.n_actions = int(self.envs[0].action_space[0].n)
        obs_space = self.envs[0].observation_space[0]
        self.obs_dim = int(obs_space.shape[0])
        b, n, a, d = num_envs, self.n_agents, self.n_actions, self.obs_dim
        self._obs_np = np.zeros((b, n, d), dtype=np.float32)  # [B, N, obs]
        self._mask_np = np.zeros((b, n, a), dtype=bool)  # [B, N, A]
        self._reward_np = np.zeros((b, 1), dtype=np.float32)  # [B, 1]
        self._terminated_np = np.zeros((b, 1), dtype=bool)  # [B, 1]
        self._truncated_np = np.zeros((b, 1), dtype=bool)  # [B, 1]
        self._make_specs(torch.as_tensor(obs_space.low), torch.as_tensor(obs_space.high))
        self._seed = int(seed)
        self._needs_seed = [True] * num_envs  # env i is reset with seed + i on its next reset

    def _make_specs(self, obs_low: torch.Tensor, obs_high: torch.Tensor) -> None:
        """Declare the shared layout: agents/{observation, action_mask, action}, state, team reward, dones."""
        b, n, a, d = self.batch_size[0], self.n_agents, self.n_actions, self.obs_dim
        agents_obs = Composite(
            observation=Bounded(
                low=obs_low.expand(b, n, d), high=obs_high.expand(b, n, d), dtype=torch.float32, device=self.device
            ),  # [B, N, obs]
            action_mask=Categorical(2, shape=(b, n, a), dtype=torch.bool, device=self.device),  # [B, N, A]
            shape=(b, n),
        )
        self.observation_spec = Composite(
            agents=agents_obs,
            state=Bounded(
                low=obs_low.repeat(n).expand(b, n * d),
                high=obs_high.repeat(n).expand(b, n * d),
                dtype=torch.float32,
                device=self.device,
            ),  # [B, N * obs]
            shape=(b,),
        )
        action = Categorical(a, shape=(b, n), dtype=torch.int64, device=self.device)  # [B, N]
        self.action_spec = Composite(agents=Composite(action=action, shape=(b, n)), shape=(b,))
        self.reward_spec = Composite(
            reward=Unbounded(shape=(b, 1), dtype=torch.float32, device=self.device), shape=(b,)
        )
        flag = Categorical(2, shape=(b, 1), dtype=torch.bool, device=self.device)  # [B, 1]
        self.done_spec = Composite(done=flag, terminated=flag.clone(), truncated=flag.clone(), shape=(b,))

    def _set_seed(self, seed: int | None) -> None:
        """Re-seed every game: env ``i`` gets ``seed + i`` at its next reset (the RNG then runs on)."""
        if seed is not None:
            self._seed = int(seed)
            self._needs_seed = [True] * len(self.envs)

    def _write_obs(self, i: int, nobs: tuple[np.ndarray, ...]) -> None:
        """Copy env ``i``'s per-agent observations and valid-action mask into the buffers."""
        env = self.envs[i]
        self._obs_np[i] = np.stack(nobs)  # [N, obs]
        mask = self._mask_np[i]  # [N, A]
        mask.fill(False)
        for p, player in enumerate(env.players):
            for action in env._valid_actions[player]:
                mask[p, action.value] = True

    def _output(self, with_step: bool) -> TensorDictBase:
        """Turn the buffers into fresh (non-aliasing) tensors and refresh the action-spec mask."""
        b = self.batch_size[0]
        obs = torch.from_numpy(self._obs_np.copy()).to(self.device)  # [B, N, obs]
        mask = torch.from_numpy(self._mask_np.copy()).to(self.device)  # [B, N, A]
        self.full_action_spec[("agents", "action")].update_mask(mask)
        out = {
            "agents": TensorDict({"observation": obs, "action_mask": mask}, batch_size=(b, self.n_agents)),
            "state": obs.reshape(b, -1),  # [B, N * obs]
        }
        if with_step:
            terminated = torch.from_numpy(self._terminated_np.copy()).to(self.device)  # [B, 1]
            truncated = torch.from_numpy(self._truncated_np.copy()).to(self.device)  # [B, 1]
            out.update(
                reward=torch.from_numpy(self._reward_np.copy()).to(self.device),  # [B, 1]
                terminated=terminated,
                truncated=truncated,
                done=terminated | truncated,
            )
        return TensorDict(out, batch_size=self.batch_size, device=self.device)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs) -> TensorDictBase:
        """Reset the games flagged by ``"_reset"`` (all if absent); others keep their current observation."""
        reset = None if tensordict is None else tensordict.get("_reset", None)
        todo = range(len(self.envs)) if reset is None else reset.reshape(-1).nonzero().flatten().tolist()
        for i in todo:
            if self._needs_seed[i]:
                nobs, _ = self.envs[i].reset(seed=self._seed + i)
                self._needs_seed[i] = False
            else:
                nobs, _ = self.envs[i].reset()
            self._write_obs(i, nobs)
        return self._output(with_step=False)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        """Step every game with its agents' actions; reward is the team sum of the players' rewards."""
        actions = tensordict.get(("agents", "action")).cpu().numpy()  # [B, N]
        for i, env in enumerate(self.envs):
            nobs, rewards, _, _, _ = env.step(actions[i].tolist())
            self._write_obs(i, nobs)
            self._reward_np[i, 0] = sum(rewards)
            all_eaten = env.field.sum() == 0
            self._terminated_np[i, 0] = all_eaten
            self._truncated_np[i, 0] = (not all_eaten) and env.current_step >= env._max_episode_steps
        return self._output(with_step=True)

    def env_state(self) -> dict:
        """Snapshot of every game (field, players, step, RNG) so a run can resume mid-episode.

        Plain data only (tensors, lists, tuples, str, int, float, bool, None), so a checkpoint holding it loads with
        ``torch.load(weights_only=True)``: the field is an int tensor, the numpy RNG state a dict of ints (numpy
        arrays in it, for other bit generators, become tensors); ``load_env_state`` turns them back exactly."""
        games: list[dict | None] = []
        for env in self.envs:
            if getattr(env, "current_step", None) is None:  # never reset: nothing to save
                games.append(None)
                continue
            games.append(
                dict(
                    field=torch.from_numpy(env.field.copy()),  # [rows, cols], the field's numpy dtype
                    players=[
                        (tuple(int(x) for x in p.position), int(p.level), float(p.score), float(p.reward))
                        for p in env.players
                    ],
                    current_step=int(env.current_step),
                    game_over=bool(env._game_over),
                    food_spawned=float(env._food_spawned),
                    rng=_plain_rng(env.np_random.bit_generator.state),
                )
            )
        return dict(seed=self._seed, needs_seed=list(self._needs_seed), games=games)

    def load_env_state(self, state: dict) -> None:
        """Restore a snapshot from :meth:`env_state` (same ``num_envs`` and env kwargs)."""
        if len(state["games"]) != len(self.envs):
            raise ValueError(f"Snapshot holds {len(state['games'])} games, env has {len(self.envs)}.")
        self._seed, self._needs_seed = int(state["seed"]), list(state["needs_seed"])
        for i, (env, game) in enumerate(zip(self.envs, state["games"], strict=True)):
            if game is None:
                self._needs_seed[i] = True
                continue
            env.field = np.array(_numpy(game["field"]))  # a copy, same dtype
            for player, (pos, level, score, reward) in zip(env.players, game["players"], strict=True):
                player.setup(tuple(pos), level, env.field.shape)
                player.score, player.reward = score, reward
            env.current_step, env._game_over = game["current_step"], game["game_over"]
            env._food_spawned = game["food_spawned"]
            env.np_random.bit_generator.state = _numpy_rng(game["rng"])
            env._gen_valid_moves()
            self._write_obs(i, env._make_gym_obs())


def _plain_rng(state: object) -> object:
    """A numpy bit generator's state as plain data: arrays -> tensors, numpy scalars -> Python numbers."""
    if isinstance(state, dict):
        return {str(k): _plain_rng(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return torch.from_numpy(state.copy())
    if isinstance(state, np.generic):
        return state.item()
    return state


def _numpy_rng(state: object) -> object:
    """Inverse of :func:`_plain_rng` (tensors -> numpy arrays of the same dtype)."""
    if isinstance(state, dict):
        return {k: _numpy_rng(v) for k, v in state.items()}
    return _numpy(state) if isinstance(state, torch.Tensor) else state


def _numpy(x: object) -> np.ndarray:
    return x.cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def make_lbf(num_envs: int, seed: int, device: torch.device, **kwargs) -> LBFEnv:
    """Registry factory: ``num_envs`` LBF games (10x10, 5 players, 10 food, 50 steps unless overridden)."""
    return LBFEnv(num_envs=num_envs, seed=seed, device=device, **kwargs)
