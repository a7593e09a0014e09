"""Batched torch port of Level-Based Foraging (lbforaging 2.0.0), stepped as one tensor program, with the paper
authors' rule changes as options.

Over 300 lines: one env class whose spawn, step, observation and reward rules must stay together to be read
against lbforaging's single file rule by rule.

Why: ``LBFEnv`` loops over ``ForagingEnv`` games in Python (~5k env-steps/s); this port steps ``num_envs`` games
at once with the same rules, masks, observations and rewards (checked step by step against lbforaging in
``tests/envs/test_lbf_batched.py``) and the same TensorDict layout and specs as ``LBFEnv``.

Two rule sets are registered (``batpal/envs/registry.py``): ``lbf`` runs the authors' rules (``AUTHORS_RULES``:
``max_player_level=3, collisions="first_listed"``), ``lbf_released`` lbforaging 2.0.0's (``LBF_DEFAULTS``,
``collisions="block"``). The authors' copy (kiarashkaz/BATPAL ``BATPAL/env/lbforaging/environment.py``, built
directly from ``BATPAL/configs/env/lbforaging.yaml``) differs in play from lbforaging 2.0.0's
``lbforaging/foraging/environment.py`` in:

1. Player levels: uniform on {1, 2, 3} (their ``max_player_level`` defaults to 3, the minimum is fixed at 1), against
   {1, 2} in lbforaging's registered ids, kept by ``LBF_DEFAULTS``. Option ``max_player_level``.
2. Food levels, through 1: in both, under ``force_coop`` every food's level is the sum of the 3 lowest player levels,
   so 3..9 instead of 3..6 (observation bound 9 here).
3. Solo loading, through 1 and 2: when the 3 lowest levels are all 1 and a player has level 3 (35/243 of resets),
   that player eats every food alone; in the release every food needs at least 2 loaders.
4. Collisions: the authors give each claimed cell to its lowest-index claimant and leave the others where they are,
   so a standing lower-index player blocks a mover, a mover joins a standing higher-index player on its cell (both
   then count when loading) and of two players sharing a cell that move alike only the lower index goes; the release
   moves nobody onto a cell claimed twice. Option ``collisions``; it changes trajectories, not random-play returns.
5. Reward: in both, a loader's share is ``level * food / (group_level_sum * food_spawned)``; the authors' env hands
   every agent the team sum, the release each agent its own share. Both our rule sets return the team sum [B, 1].
6. Non-coop food levels (unused by the authors' config): their draw excludes the top level; not ported.

The same in both: player and food placement, valid actions, loading groups, penalty 0, observations (content, order,
sight) and the episode end (all food eaten, or step 50). Only declared bounds differ: the authors' observation space
caps food levels at ``max_player_level * players`` (15), this port keeps lbforaging's formula (9). Learning-side, not
play: their runner treats the step-50 cut-off as terminal; we flag it ``truncated``. Uniformly random valid play, team
return per 50-step episode: the authors' env 0.0478 +- 0.0017 (4000 episodes), ``lbf`` 0.0489 +- 0.0005 (48000);
lbforaging 2.0.0 0.0120 +- 0.0003 (12000), ``lbf_released`` 0.0121 +- 0.0002 (48000). The level range makes the
gap; the collision rule changes no measurable return.

Rules reproduced here, lbforaging's with the options above (vector observation, agent levels observed):

* reset, players: placed one after the other, each uniformly on a cell holding no player. As in lbforaging, a
  player's own and every later player's *previous* position (from the last episode or ``set_state``) still count
  as occupied. Levels are uniform in [min_player_level, max_player_level].
* reset, food: lbforaging proposes uniform interior cells (not on the border) and keeps one that holds no player
  and has no food within Chebyshev distance 1 or on its row/column within distance 2, with 1000 proposals for
  all food together. Reproduced in law, not draw for draw: each food is uniform among the admissible cells and
  took Geometric(#admissible / #interior) proposals; the first food whose running count passes 1000 (or that finds
  no admissible cell) and all later ones are not placed. In the paper setting the budget practically never binds,
  but ~5% of the draws leave no admissible cell for the last food (9 food; 8 in ~0.2%). Food level: the sum of the
  3 lowest player levels (or ``max_food_level``) under ``force_coop``, else uniform from ``min_food_level`` to that.
* step: invalid actions become NONE. Each player claims a cell (its target, its own cell for NONE/LOAD). With
  ``collisions="block"`` it moves iff no other player claims that cell, with ``"first_listed"`` iff no lower-index
  player does. Under both, swaps succeed and a player can end on the cell of a player whose own move failed
  (lbforaging allows that overlap). Then each food whose 4-adjacent LOADing players have levels
  summing to >= its level is removed and each of them gets ``level * food / (level_sum * food_spawned)``
  (``food_spawned``: total food level at reset); a failed group gets ``-penalty`` each.
* lbforaging resolves loads in ``set.pop()`` order, i.e. in memory-address order of the ``Player`` objects. The
  outcome depends on that order only if a loader touches two food, which the food spacing above rules out in every
  reachable state; ``set_state`` fields must keep that spacing too (else the port counts such a loader for both).
* valid actions: NONE always; a move iff the target cell is on the field and holds no food (players do not block);
  LOAD iff a 4-neighbour holds food.
* observation of agent i (3 * (max_num_food + players) floats): first the visible food (``|d_row|, |d_col| <=
  sight``) in row-major order, then the seen players (i first, then the others in index order) as
  ``(row, col, level)``, padded with ``(-1, -1, 0)``; coordinates are ``pos - own + min(sight, own)``. A player is
  seen iff both such coordinates are in [0, 2 * sight], which near the top/left border reaches beyond ``sight``.
* ``terminated`` once all food is eaten, otherwise ``truncated`` from step ``max_episode_steps`` on. Team reward:
  the sum of the players' rewards; global state: the concatenated observations.

Layout (as ``mpe.py``, batch-last so every op runs on contiguous rows of length B): positions are flat indices
into the field padded by one border cell (``(row + 1) * (cols + 2) + col + 1``), so moves and neighbours are
index offsets and pair relations (adjacent, seen) are lookups in precomputed [P, P] tables; ``pos``/``level`` are
[N, B] and the food lives in ``max_num_food`` slots ``food_pos``/``food_level`` [F, B] sorted row-major (level 0 on
padding cell 0 = no food). Every buffer and (through ``get_extra_state``) the generator state are in
``state_dict()``, so ``load_state_dict`` restores everything that determines the future of a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from batpal.envs.generator_state import GeneratorState
from batpal.envs.lbf import LBF_DEFAULTS, check_lbf_settings

NONE, LOAD = 0, 5  # lbforaging's Action values; NORTH 1 (row - 1), SOUTH 2 (row + 1), WEST 3 (col - 1), EAST 4
MAX_SPAWN_ATTEMPTS = 1000  # lbforaging's proposal budget for all food of one reset
COLLISIONS = ("block", "first_listed")  # lbforaging 2.0.0's rule, the authors' rule (module doc)
AUTHORS_RULES: dict[str, Any] = dict(max_player_level=3, collisions="first_listed")  # env=lbf, over LBF_DEFAULTS


def _check_supported(cfg: dict[str, Any], collisions: str) -> None:
    """Refuse bad settings (``check_lbf_settings``), unknown collision rules and the lbforaging options this port does
    not implement (grid observations, per-entity levels), before any tensor is built."""
    if collisions not in COLLISIONS:
        raise ValueError(f"Unknown LBF option collisions={collisions!r}; choose one of {', '.join(COLLISIONS)}.")
    check_lbf_settings(cfg)
    if cfg["grid_observation"] or not cfg["observe_agent_levels"]:
        raise ValueError("LBFBatchedEnv implements the vector observation with agent levels only.")
    for key in ("min_player_level", "max_player_level", "min_food_level", "max_food_level"):
        if isinstance(cfg[key], Iterable):
            raise ValueError(f"LBFBatchedEnv takes scalar levels only, got {key}={cfg[key]!r}.")


def _lookup(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` for a 1-D ``table``, through ``gather`` (several times faster than indexing on CPU)."""
    return table.gather(0, index.reshape(-1)).view(index.shape)


def _field_tables(rows: int, cols: int, sight: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Tables over the P cells of the field padded by one border cell, and over pairs of them (flat [P * P])."""
    stride = cols + 2
    flat = torch.arange((rows + 2) * stride, device=device)
    rc = torch.stack((flat // stride - 1, flat % stride - 1))  # [2, P] (row, col); -1, rows or cols on padding
    inside = (rc >= 0).all(0) & (rc[0] < rows) & (rc[1] < cols)  # [P]
    interior = inside & (rc >= 1).all(0) & (rc[0] < rows - 1) & (rc[1] < cols - 1)  # [P]
    cells, inner = flat[inside], flat[interior]  # [H*W], [I] padded indices, row-major
    gap = (rc[:, inner].unsqueeze(2) - rc[:, inner].unsqueeze(1)).abs()  # [2, I, I]
    near = (gap <= 1).all(0) | ((gap.amin(0) == 0) & (gap.amax(0) <= 2))  # [I, I] lbforaging's food spacing
    to_cell = torch.zeros_like(flat)
    to_cell[cells] = torch.arange(rows * cols, device=device)
    delta = rc.unsqueeze(1) - rc.unsqueeze(2)  # [2, P, P] cell j minus observer cell i
    frame = rc.unsqueeze(1) - (rc - sight).clamp(min=0).unsqueeze(2)  # [2, P, P] cell j in observer i's frame
    adjacent = (delta.abs().sum(0) == 1) & inside  # [P, P] 4-neighbours on the field
    food_seen = (delta.abs() <= sight).all(0) & inside  # [P, P] within sight
    player_seen = ((frame >= 0) & (frame <= 2 * sight)).all(0) & inside  # [P, P] lbforaging's test in the frame
    return dict(
        _rc=rc,
        _rc_float=rc.float(),
        _wall=torch.where(inside, 0, -1),  # [P] empty field, -1 on the padding
        _cells=cells,
        _interior=inner,
        _to_cell=to_cell,  # [P] padded index -> row-major cell index (0 on the padding)
        _food_block=near,
        _moves=torch.tensor([0, -stride, stride, -1, 1, 0], device=device),  # [A] index offset of each action
        _adjacent=adjacent.flatten(),  # [P*P]
        _sees=torch.cat((food_seen.flatten(), player_seen.flatten())),  # [2*P*P] food then player table
    )


def _slot_tables(num_envs: int, n: int, f: int, cells: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Tables that place each seen entity e (food, then players in index order) in the flat observation buffer.

    Its slot is ``cumsum(seen)[e] * keep + shift - n_food_seen * player``: food keep their order, then the
    observer (``keep = 0``, ``shift = F``) and the other seen players in index order (one later if after it).
    """
    after = torch.ones(n, n, dtype=torch.long, device=device).triu(1)  # [N, N] player j comes after observer i
    is_self = torch.eye(n, dtype=torch.long, device=device)
    zeros, e = torch.zeros(n, f, dtype=torch.long, device=device), f + n
    obs_dim = 3 * e
    pad = torch.tensor([-1.0, -1.0, 0.0], device=device).repeat(num_envs * n * e + 1)  # [B*N*obs + 3]
    base = torch.arange(n, device=device).unsqueeze(-1) * obs_dim + torch.arange(num_envs, device=device) * n * obs_dim
    return dict(
        _slot_keep=torch.cat((zeros + 1, 1 - is_self), 1).unsqueeze(-1),  # [N, E, 1]
        _slot_shift=torch.cat((zeros - 1, f - after), 1).unsqueeze(-1),  # [N, E, 1]
        _slot_player=torch.cat((zeros, 1 - is_self), 1).unsqueeze(-1),  # [N, E, 1]
        _sees_offset=(torch.arange(e, device=device) >= f).long().unsqueeze(-1) * cells**2,  # [E, 1]
        _obs_base=base.unsqueeze(1),  # [N, 1, B] first float of each observation
        _channel=torch.arange(3, device=device).view(3, 1, 1, 1),
        _tril=torch.ones(e, e, device=device).tril(),  # [E, E]
        _obs_pad=pad,  # the padding (-1, -1, 0) of every slot, then 3 spare floats for the unseen entities
    )


class LBFBatchedEnv(GeneratorState, EnvBase):
    """``num_envs`` LBF games stepped as tensors; batch dims ``[num_envs]``; rules and layout in the module doc."""

    N_ACTIONS = 6

    def __init__(
        self,
        num_envs: int = 1,
        seed: int | None = None,
        device: str | torch.device = "cpu",
        collisions: str = "block",
        **lbf_kwargs: Any,
    ) -> None:
        cfg = {**LBF_DEFAULTS, **lbf_kwargs}
        _check_supported(cfg, collisions)
        super().__init__(device=device, batch_size=torch.Size([num_envs]))
        self.collisions = collisions
        self.num_envs, self.n_agents = int(num_envs), int(cfg["players"])
        self.rows, self.cols = (int(x) for x in cfg["field_size"])
        self.max_num_food, self.sight = int(cfg["max_num_food"]), int(cfg["sight"])
        self.max_steps, self.force_coop = int(cfg["max_episode_steps"]), bool(cfg["force_coop"])
        self.normalize_reward, self.penalty = bool(cfg["normalize_reward"]), float(cfg["penalty"])
        self.player_levels = (int(cfg["min_player_level"]), int(cfg["max_player_level"]))
        self.min_food_level = int(cfg["min_food_level"])
        self.max_food_level = None if cfg["max_food_level"] is None else int(cfg["max_food_level"])
        self.obs_dim = 3 * (self.max_num_food + self.n_agents)
        self.n_cells = (self.rows + 2) * (self.cols + 2)  # P, padded
        tables = _field_tables(self.rows, self.cols, self.sight, self.device)
        tables.update(_slot_tables(self.num_envs, self.n_agents, self.max_num_food, self.n_cells, self.device))
        earlier = torch.ones(self.n_agents, self.n_agents, dtype=torch.bool, device=self.device).triu(1)
        tables["_earlier"] = earlier.unsqueeze(-1)  # [N, N, 1] player j is listed before player i
        for name, value in tables.items():  # non-persistent: they only depend on the settings
            self.register_buffer(name, value, persistent=False)
        self._register_state()
        self._generator = torch.Generator(device=self.device)
        self._make_specs()
        self.set_seed(seed)

    def _register_state(self) -> None:
        """The simulator state, batch-last: every buffer here is in ``state_dict()``."""
        b, n, f, dev, long = self.num_envs, self.n_agents, self.max_num_food, self.device, torch.long
        self.register_buffer("pos", torch.zeros(n, b, dtype=long, device=dev))  # [N, B] padded flat index
        self.register_buffer("level", torch.zeros(n, b, dtype=long, device=dev))  # [N, B]
        self.register_buffer("food_pos", torch.zeros(f, b, dtype=long, device=dev))  # [F, B] row-major sorted
        self.register_buffer("food_level", torch.zeros(f, b, dtype=long, device=dev))  # [F, B] 0 = no food
        self.register_buffer("food_spawned", torch.zeros(b, dtype=long, device=dev))  # [B] reward normaliser
        self.register_buffer("step_count", torch.zeros(b, dtype=long, device=dev))  # [B]
        self.register_buffer("placed", torch.zeros(b, dtype=torch.bool, device=dev))  # [B] players hold cells
        self.register_buffer("action_mask", torch.ones(b, n, self.N_ACTIONS, dtype=torch.bool, device=dev))

    def _obs_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """lbforaging's observation-space bounds (it puts ``cols - 1`` first, ``rows - 1`` second): [obs_dim] x2."""
        hi_pl = self.player_levels[1]
        hi_food = self.max_food_level if self.max_food_level is not None else min(3, self.n_agents) * hi_pl
        low = [-1.0, -1.0, 0.0] * (self.max_num_food + self.n_agents)
        high = [self.cols - 1, self.rows - 1, hi_food] * self.max_num_food
        high += [self.cols - 1, self.rows - 1, hi_pl] * self.n_agents
        return torch.tensor(low), torch.tensor(high, dtype=torch.float32)

    def _make_specs(self) -> None:
        """Declare ``LBFEnv``'s layout: agents/{observation, action_mask, action}, state, team reward, dones."""
        b, n, a, d, dev = self.num_envs, self.n_agents, self.N_ACTIONS, self.obs_dim, self.device
        low, high = self._obs_bounds()
        agents_obs = Composite(
            observation=Bounded(
                low=low.expand(b, n, d), high=high.expand(b, n, d), dtype=torch.float32, device=dev
            ),  # [B, N, obs]
            action_mask=Categorical(2, shape=(b, n, a), dtype=torch.bool, device=dev),  # [B, N, A]
            shape=(b, n),
        )
        state = Bounded(
            low=low.repeat(n).expand(b, n * d), high=high.repeat(n).expand(b, n * d), dtype=torch.float32, device=dev
        )  # [B, N * obs]
        self.observation_spec = Composite(agents=agents_obs, state=state, shape=(b,))
        action = Categorical(a, shape=(b, n), dtype=torch.int64, device=dev)  # [B, N]
        self.action_spec = Composite(agents=Composite(action=action, shape=(b, n)), shape=(b,))
        self.reward_spec = Composite(reward=Unbounded(shape=(b, 1), dtype=torch.float32, device=dev), shape=(b,))
        flag = Categorical(2, shape=(b, 1), dtype=torch.bool, device=dev)  # [B, 1]
        self.done_spec = Composite(done=flag, terminated=flag.clone(), truncated=flag.clone(), shape=(b,))

    # ----------------------------------------------------------------- torchrl API
    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        """Respawn the games flagged by ``"_reset"`` [B, 1] (all if absent); the others keep their state."""
        reset = None if tensordict is None else tensordict.get("_reset", None)
        if reset is None:
            games = torch.arange(self.num_envs, device=self.device)
        else:
            games = reset.reshape(-1).nonzero().squeeze(-1)  # [K] only these are drawn
        if games.numel() == 0:
            return self._output(None)
        pos, level = self._spawn_players(games)
        food_pos, food_level = self._spawn_food(pos, level)
        self._install(games, pos, level, food_pos, food_level, food_level.sum(-1), torch.zeros_like(games))
        return self._output(None)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        """One lbforaging step of every game: moves with collisions, then loads; team reward and dones."""
        action = tensordict.get(("agents", "action"))  # [B, N]
        valid = self.action_mask.gather(-1, action.unsqueeze(-1)).squeeze(-1)  # [B, N]
        action = (action * valid).T.contiguous()  # [N, B] invalid -> NONE (0)
        target = self.pos + _lookup(self._moves, action)  # [N, B] claimed cell
        same = target.unsqueeze(0) == target.unsqueeze(1)  # [N, N, B] players j and i claim the same cell
        if self.collisions == "block":
            moves = same.sum(0) == 1  # [N, B] nobody else claims it
        else:  # first_listed: no lower-index player claims it
            moves = ~(same & self._earlier).any(0)  # [N, B]
        self.pos = torch.where(moves, target, self.pos)  # standing players claim their own cell: unchanged
        reward = self._load(action == LOAD)  # [B, 1]
        self.step_count = self.step_count + 1
        self.action_mask = self._valid_actions()
        return self._output(reward)

    # ----------------------------------------------------------------- simulator
    def _load(self, loading: torch.Tensor) -> torch.Tensor:
        """Resolve the LOAD actions ``loading`` [N, B]: remove the food won, return the team reward [B, 1]."""
        pair = self.pos.unsqueeze(1) * self.n_cells + self.food_pos.unsqueeze(0)  # [N, F, B]
        adj = _lookup(self._adjacent, pair) & loading.unsqueeze(1)  # [N, F, B] eaten food (on padding) never adjacent
        group = (adj * self.level.unsqueeze(1)).sum(0)  # [F, B] level sum of each food's loaders
        eaten = (self.food_level > 0) & (group >= self.food_level)  # [F, B]
        won = adj & eaten.unsqueeze(0)  # [N, F, B] at most one food per player
        food = (won * self.food_level.unsqueeze(0)).sum(1)  # [N, B]
        reward = (self.level * food).double()  # [N, B] float64, as lbforaging's Python floats
        if self.normalize_reward:
            denominator = (won * group.unsqueeze(0)).sum(1) * self.food_spawned  # [N, B]
            reward = reward / denominator.clamp(min=1).double()
        if self.penalty:
            reward = reward - self.penalty * (adj & ~eaten.unsqueeze(0)).any(1).double()
        kept = ~eaten
        self.food_level = self.food_level * kept
        self.food_pos = self.food_pos * kept  # onto padding cell 0
        return reward.sum(0).float().unsqueeze(-1)  # players summed in index order, as Python's sum()

    def _valid_actions(self) -> torch.Tensor:
        """lbforaging's ``_valid_actions`` for the current field: [B, N, A]."""
        n, b = self.n_agents, self.num_envs
        grid = self._wall.unsqueeze(-1).expand(-1, b).scatter_add(0, self.food_pos, self.food_level)  # [P, B]
        neighbours = self.pos.unsqueeze(1) + self._moves[1:5].view(1, 4, 1)  # [N, 4, B] N, S, W, E
        around = grid.gather(0, neighbours.reshape(n * 4, b)).reshape(n, 4, b)  # [N, 4, B] food level, -1 off-field
        none = torch.ones(n, 1, b, dtype=torch.bool, device=self.device)
        mask = torch.cat((none, around == 0, (around > 0).any(1, keepdim=True)), 1)  # [N, A, B]
        return mask.permute(2, 0, 1).contiguous()

    def _observe(self) -> torch.Tensor:
        """lbforaging's vector observation of every agent: [B, N, obs_dim].

        Entity e (food, then players in index order) is seen by an observer as the ``_sees`` table says for their
        cells, at ``pos - max(own - sight, 0)``; seen entries go to their slot of a buffer filled with the padding.
        """
        b, n, f = self.num_envs, self.n_agents, self.max_num_food
        where = torch.cat((self.food_pos, self.pos))  # [E, B]
        pair = self.pos.unsqueeze(1) * self.n_cells + where.unsqueeze(0)  # [N, E, B] (observer cell, entity cell)
        seen = _lookup(self._sees, pair + self._sees_offset)  # [N, E, B]
        count = torch.matmul(self._tril, seen.float()).long()  # [N, E, B] cumsum over E (faster as a matmul)
        slot = count * self._slot_keep + self._slot_shift - count[:, f - 1 : f] * self._slot_player  # [N, E, B]
        spare = b * self.n_agents * self.obs_dim
        index = (self._obs_base + 3 * slot - spare) * seen + spare  # [N, E, B] unseen -> the spare floats
        levels = torch.cat((self.food_level, self.level)).float().unsqueeze(0)  # [1, E, B]
        entity = torch.cat((self._coords(where), levels))  # [3, E, B] row, col, level
        origin = (self._coords(self.pos) - self.sight).clamp(min=0)  # [2, N, B]
        origin = torch.cat((origin, torch.zeros_like(origin[:1])))  # [3, N, B] no shift on the level
        rel = entity.unsqueeze(1) - origin.unsqueeze(2)  # [3, N, E, B]
        out = self._obs_pad.clone()  # [B*N*obs + 3]
        out.scatter_(0, (index.unsqueeze(0) + self._channel).reshape(-1), rel.reshape(-1))
        return out[:-3].view(b, n, self.obs_dim)

    def _coords(self, cells: torch.Tensor) -> torch.Tensor:
        """(row, col) as floats of padded ``cells`` [...]: [2, ...]."""
        return self._rc_float.index_select(1, cells.reshape(-1)).view(2, *cells.shape)

    def _output(self, reward: torch.Tensor | None) -> TensorDictBase:
        """Pack observations, masks and flags into ``LBFEnv``'s layout (no reward on reset)."""
        b, n = self.num_envs, self.n_agents
        obs = self._observe()  # [B, N, obs]
        self.full_action_spec["agents", "action"].update_mask(self.action_mask)  # replaced, never edited in place
        terminated = (self.food_level == 0).all(0).unsqueeze(-1)  # [B, 1] all food eaten
        truncated = ~terminated & (self.step_count >= self.max_steps).unsqueeze(-1)  # [B, 1]
        agents = TensorDict({"observation": obs, "action_mask": self.action_mask.clone()}, batch_size=(b, n))
        out = {
            "agents": agents,
            "state": obs.view(b, -1),  # [B, N * obs]
            "done": terminated | truncated,
            "terminated": terminated,
            "truncated": truncated,
        }
        if reward is not None:
            out["reward"] = reward
        return TensorDict(out, batch_size=(b,), device=self.device)

    # ----------------------------------------------------------------- spawning (batch-first, K games at a time)
    def _spawn_players(self, games: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw new player cells and levels for ``games`` [K]: [K, N] padded indices, [K, N] levels."""
        b, n, g, dev = games.numel(), self.n_agents, self._generator, self.device
        scores = torch.rand(b, n, self.rows * self.cols, generator=g, device=dev)  # [K, N, H*W]
        lo, hi = self.player_levels
        level = torch.randint(lo, hi + 1, (b, n), generator=g, device=dev)  # [K, N]
        old = self._to_cell[self.pos[:, games].T]  # [K, N] previous cells, still occupied in lbforaging's check
        weight = self.placed[games].long().unsqueeze(-1)  # [K, 1]
        occupied = torch.zeros(b, self.rows * self.cols, dtype=torch.long, device=dev)
        occupied.scatter_add_(1, old, weight.expand(b, n))
        picks = []
        for i in range(n):
            pick = torch.where(occupied == 0, scores[:, i], -1.0).argmax(-1, keepdim=True)  # [K, 1]
            occupied.scatter_add_(1, old[:, i : i + 1], -weight)
            occupied.scatter_add_(1, pick, torch.ones_like(pick))
            picks.append(pick)
        return self._cells[torch.cat(picks, -1)], level

    def _spawn_food(self, pos: torch.Tensor, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw the food of K games around players ``pos`` with ``level`` [K, N]: slots [K, F] x2.

        Food k is uniform among the cells left free by the players and food 0..k-1; it took Geometric(free / I)
        of lbforaging's proposals and is placed iff the running total stays within the budget. Once one food is
        not placed no later one is, so the cells a dropped food would block never matter.
        """
        b, f, g, dev = pos.shape[0], self.max_num_food, self._generator, self.device
        if self.max_food_level is not None:
            hi = torch.full((b,), self.max_food_level, device=dev)
        else:
            hi = level.sort(-1).values[:, :3].sum(-1)  # [K]
        lo = hi if self.force_coop else torch.full_like(hi, self.min_food_level)
        draw = torch.rand(b, f, generator=g, device=dev)  # [K, F]
        food_level = lo.unsqueeze(-1) + (draw * (hi - lo + 1).unsqueeze(-1)).long()  # [K, F] uniform in [lo, hi]
        n_inner = self._interior.numel()
        scores = torch.rand(b, f, n_inner, generator=g, device=dev)  # [K, F, I]
        log_u = torch.log1p(-torch.rand(b, f, generator=g, device=dev, dtype=torch.float64))  # [K, F] log U(0, 1]
        occupied = torch.zeros(b, self.n_cells, dtype=torch.bool, device=dev).scatter_(1, pos, True)
        blocked = occupied[:, self._interior]  # [K, I]
        picks, free = [], []
        for k in range(f):
            free.append(n_inner - blocked.sum(-1))  # [K]
            pick = (scores[:, k] - blocked.float()).argmax(-1)  # [K] uniform among the free cells
            blocked = blocked | self._food_block[pick]
            picks.append(pick)
        share = torch.stack(free, -1).double() / n_inner  # [K, F] chance a proposal is admissible
        tries = torch.where(share > 0, torch.floor(log_u / torch.log1p(-share)) + 1, torch.inf)  # [K, F]
        placed = tries.cumsum(-1) <= MAX_SPAWN_ATTEMPTS  # [K, F]
        return self._interior[torch.stack(picks, -1)] * placed, food_level * placed

    def _install(
        self,
        games: torch.Tensor,
        pos: torch.Tensor,
        level: torch.Tensor,
        food_pos: torch.Tensor,
        food_level: torch.Tensor,
        food_spawned: torch.Tensor,
        step_count: torch.Tensor,
    ) -> None:
        """Write K new games, batch-first ([K, N], [K, F], [K]), into the envs ``games`` [K]."""
        key = torch.where(food_level > 0, food_pos, self.n_cells)  # [K, F] empty slots last
        rank = key.argsort(-1)  # row-major order
        food_level = food_level.gather(-1, rank)
        food_pos = food_pos.gather(-1, rank) * (food_level > 0)  # no food: padding cell 0
        self.pos[:, games] = pos.T
        self.level[:, games] = level.T
        self.food_pos[:, games] = food_pos.T
        self.food_level[:, games] = food_level.T
        self.food_spawned[games] = food_spawned
        self.step_count[games] = step_count
        self.placed[games] = True
        self.action_mask = self._valid_actions()

    # ----------------------------------------------------------------- state access
    def set_state(
        self,
        player_pos: torch.Tensor,
        player_level: torch.Tensor,
        food_pos: torch.Tensor,
        food_level: torch.Tensor,
        step_count: torch.Tensor | None = None,
        food_spawned: torch.Tensor | None = None,
    ) -> TensorDictBase:
        """Start every game from a given field (e.g. lbforaging's own reset); returns the reset-style output.

        ``player_pos`` [B, N, 2] and ``food_pos`` [B, K, 2] are (row, col), ``food_level`` [B, K] (0 = no food,
        K <= max_num_food); ``step_count`` [B] defaults to 0 and ``food_spawned`` [B] (the reward normaliser,
        lbforaging's ``_food_spawned``) to the total food level given.
        """
        b, k, dev = self.num_envs, food_level.shape[-1], self.device
        if k > self.max_num_food:
            raise ValueError(f"At most {self.max_num_food} food per game, got {k}.")

        def flat(rc: torch.Tensor) -> torch.Tensor:
            rc = rc.to(dev, torch.long)
            return (rc[..., 0] + 1) * (self.cols + 2) + rc[..., 1] + 1

        pad = self.max_num_food - k
        slots = torch.nn.functional.pad(flat(food_pos), (0, pad))  # [B, F]
        levels = torch.nn.functional.pad(food_level.to(dev, torch.long), (0, pad))  # [B, F]
        spawned = levels.sum(-1) if food_spawned is None else food_spawned.to(dev, torch.long)
        steps = torch.zeros(b, dtype=torch.long, device=dev) if step_count is None else step_count.to(dev, torch.long)
        every = torch.arange(b, device=dev)
        self._install(every, flat(player_pos), player_level.to(dev, torch.long), slots, levels, spawned, steps)
        return self._output(None)

    @property
    def player_pos(self) -> torch.Tensor:
        """Player cells as (row, col): [B, N, 2] (a copy)."""
        return self._rc[:, self.pos].permute(2, 1, 0)

    @property
    def player_level(self) -> torch.Tensor:
        """Player levels: [B, N] (a copy)."""
        return self.level.T.clone()

    @property
    def field(self) -> torch.Tensor:
        """Food levels on the field, as lbforaging's ``field``: [B, rows, cols] (a copy)."""
        grid = torch.zeros(self.n_cells, self.num_envs, dtype=torch.long, device=self.device)
        grid.scatter_add_(0, self.food_pos, self.food_level)
        return grid[self._cells].T.reshape(self.num_envs, self.rows, self.cols)


def make_lbf_batched(num_envs: int, seed: int, device: torch.device, **kwargs: Any) -> LBFBatchedEnv:
    """Registry factory of ``lbf_released``: lbforaging 2.0.0's rules (``LBF_DEFAULTS``, blocking collisions)."""
    return LBFBatchedEnv(num_envs=num_envs, seed=seed, device=device, **kwargs)


def make_lbf_authors(num_envs: int, seed: int, device: torch.device, **kwargs: Any) -> LBFBatchedEnv:
    """Registry factory of ``lbf``: the authors' rules (``AUTHORS_RULES`` over ``LBF_DEFAULTS``), as the paper ran."""
    return LBFBatchedEnv(num_envs=num_envs, seed=seed, device=device, **{**AUTHORS_RULES, **kwargs})
