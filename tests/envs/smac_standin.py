"""A small numpy stand-in for smacv2's ``StarCraft2Env`` so the SMAC wrapper can be tested without StarCraft II.

It mirrors the parts of the smacv2 API the wrapper touches: ``get_env_info``, ``get_obs`` / ``get_state``
(values in [-1, 1]), ``get_avail_actions`` (action 0 = no-op, only for dead units; 1 = stop; 2-5 = moves;
``6 + j`` = attack enemy ``j``), ``reset() -> (obs, state)`` and ``step(actions) -> (reward, terminated, info)``
with smacv2's info dict and its quirks: an unavailable action trips the same assertion, the time limit ends
the episode with ``terminated=True`` and ``info["episode_limit"]`` is only set when ``continuing_episode``;
``crash_at_step=k`` makes the ``k``-th step of an episode return smacv2's crash result ``(0, True, {})``;
``state_last_action`` drops everyone's last action from the state, as in smacv2.
The battle itself is a toy: allies shoot enemies in range, enemies shoot back at random.
"""

from __future__ import annotations

import numpy as np

# (n_agents, n_enemies, episode_limit) of the SMAC maps the registry uses, as in smacv2's map registry.
MAP_PARAMS: dict[str, tuple[int, int, int]] = {
    "3m": (3, 3, 60),
    "2s3z": (5, 5, 120),
    "MMM": (10, 10, 150),
    "1c3s5z": (9, 9, 180),
    "10m_vs_11m": (10, 11, 150),
}
N_ACTIONS_NO_ATTACK = 6  # no-op, stop, north, south, east, west
MOVE = np.array([[0.0, 0.1], [0.0, -0.1], [0.1, 0.0], [-0.1, 0.0]], dtype=np.float32)  # N, S, E, W


class StandInStarCraft2Env:
    """Seeded toy battle with smacv2's ``StarCraft2Env`` interface (a test double, not a simulator)."""

    def __init__(
        self,
        map_name: str = "3m",
        seed: int | None = None,
        continuing_episode: bool = False,
        episode_limit: int | None = None,
        ally_damage: float = 0.4,
        enemy_damage: float = 0.1,
        shoot_range: float = 1.2,
        reward_death_value: float = 10.0,
        reward_win: float = 200.0,
        reward_scale_rate: float = 20.0,
        state_last_action: bool = True,
        crash_at_step: int | None = None,
    ) -> None:
        n_agents, n_enemies, limit = MAP_PARAMS[map_name]
        self.map_name = map_name
        self.n_agents, self.n_enemies = n_agents, n_enemies
        self.episode_limit = limit if episode_limit is None else int(episode_limit)
        self.n_actions = N_ACTIONS_NO_ATTACK + n_enemies
        self.continuing_episode = continuing_episode
        self.ally_damage, self.enemy_damage, self.shoot_range = ally_damage, enemy_damage, shoot_range
        self.reward_death_value, self.reward_win = reward_death_value, reward_win
        self.max_reward = n_enemies * (reward_death_value + 1.0) + reward_win  # enemies have 1.0 max health
        self.reward_scale_rate = reward_scale_rate
        self.state_last_action, self.crash_at_step = state_last_action, crash_at_step
        self.restarts = 0
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._episode_steps = 0
        self.battles_won = self.battles_game = self.timeouts = 0
        self.last_action = np.zeros((n_agents, self.n_actions), dtype=np.float32)  # [N, A]
        self.ally_health = np.ones(n_agents, dtype=np.float32)  # [N]
        self.enemy_health = np.ones(n_enemies, dtype=np.float32)  # [E]
        self.ally_pos = np.zeros((n_agents, 2), dtype=np.float32)  # [N, 2]
        self.enemy_pos = np.zeros((n_enemies, 2), dtype=np.float32)  # [E, 2]
        self.closed = False

    # ---- sizes and info ----
    def get_obs_size(self) -> int:
        """4 move flags + 5 features per enemy + 5 per other ally + own health."""
        return 4 + 5 * self.n_enemies + 5 * (self.n_agents - 1) + 1

    def get_state_size(self) -> int:
        """Allies (health, cooldown, x, y), enemies (health, x, y), then everyone's last action."""
        last_action = self.n_agents * self.n_actions if self.state_last_action else 0
        return 4 * self.n_agents + 3 * self.n_enemies + last_action

    def get_total_actions(self) -> int:
        return self.n_actions

    def get_env_info(self) -> dict:
        return {
            "state_shape": self.get_state_size(),
            "obs_shape": self.get_obs_size(),
            "n_actions": self.get_total_actions(),
            "n_agents": self.n_agents,
            "episode_limit": self.episode_limit,
        }

    def get_stats(self) -> dict:
        return {
            "battles_won": self.battles_won,
            "battles_game": self.battles_game,
            "win_rate": self.battles_won / max(self.battles_game, 1),
            "timeouts": self.timeouts,
        }

    # ---- observations ----
    def _in_range(self, a: int) -> np.ndarray:
        """Which enemies ally ``a`` can shoot: alive and within range."""
        dist = np.linalg.norm(self.enemy_pos - self.ally_pos[a], axis=-1)  # [E]
        return (self.enemy_health > 0) & (dist < self.shoot_range)

    def get_avail_agent_actions(self, agent_id: int) -> list[int]:
        avail = [0] * self.n_actions
        if self.ally_health[agent_id] <= 0:
            avail[0] = 1  # dead units can only no-op
            return avail
        avail[1] = 1
        for m, step in enumerate(MOVE):
            avail[2 + m] = int(np.all(np.abs(self.ally_pos[agent_id] + step) <= 1.0))
        for e in np.flatnonzero(self._in_range(agent_id)):
            avail[N_ACTIONS_NO_ATTACK + e] = 1
        return avail

    def get_avail_actions(self) -> list[list[int]]:
        return [self.get_avail_agent_actions(a) for a in range(self.n_agents)]

    def get_obs_agent(self, agent_id: int) -> np.ndarray:
        obs = np.zeros(self.get_obs_size(), dtype=np.float32)
        if self.ally_health[agent_id] <= 0:
            return obs  # dead: all zeros, as in smacv2
        avail = self.get_avail_agent_actions(agent_id)
        obs[:4] = avail[2:6]
        me = self.ally_pos[agent_id]
        enemies = obs[4 : 4 + 5 * self.n_enemies].reshape(self.n_enemies, 5)  # view
        for e in range(self.n_enemies):
            if self.enemy_health[e] > 0:
                rel = (self.enemy_pos[e] - me) / 2.0
                enemies[e] = (avail[N_ACTIONS_NO_ATTACK + e], np.linalg.norm(rel) / 1.5, *rel, self.enemy_health[e])
        allies = obs[4 + 5 * self.n_enemies : -1].reshape(self.n_agents - 1, 5)  # view
        for i, al in enumerate(a for a in range(self.n_agents) if a != agent_id):
            if self.ally_health[al] > 0:
                rel = (self.ally_pos[al] - me) / 2.0
                allies[i] = (1.0, np.linalg.norm(rel) / 1.5, *rel, self.ally_health[al])
        obs[-1] = self.ally_health[agent_id]
        return obs

    def get_obs(self) -> list[np.ndarray]:
        return [self.get_obs_agent(a) for a in range(self.n_agents)]

    def get_state(self) -> np.ndarray:
        alive = (self.ally_health > 0)[:, None]
        allies = np.concatenate([self.ally_health[:, None], np.zeros_like(alive, np.float32), self.ally_pos], 1)
        enemies = np.concatenate([self.enemy_health[:, None], self.enemy_pos], 1) * (self.enemy_health > 0)[:, None]
        parts = [(allies * alive).ravel(), enemies.ravel()]
        if self.state_last_action:
            parts.append(self.last_action.ravel())
        return np.concatenate(parts).astype(np.float32)

    # ---- episode ----
    def reset(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Start a battle: allies on the left, enemies on the right, full health."""
        self._episode_steps = 0
        self.ally_health[:] = 1.0
        self.enemy_health[:] = 1.0
        self.ally_pos[:] = self._rng.uniform([-0.5, -0.5], [-0.2, 0.5], size=(self.n_agents, 2))
        self.enemy_pos[:] = self._rng.uniform([0.2, -0.5], [0.5, 0.5], size=(self.n_enemies, 2))
        self.last_action[:] = 0.0
        return self.get_obs(), self.get_state()

    def step(self, actions) -> tuple[float, bool, dict]:
        """Apply one joint action; returns ``(reward, terminated, info)`` like smacv2."""
        actions = [int(a) for a in actions]
        avail = self.get_avail_actions()
        for a, act in enumerate(actions):
            assert avail[a][act] == 1, f"Agent {a} cannot perform action {act}"
        if self.crash_at_step is not None and self._episode_steps + 1 == self.crash_at_step:
            self.restarts += 1  # smacv2: full_restart() after a protocol/connection error, then (0, True, {})
            self.reset()
            return 0, True, {}
        self.last_action = np.eye(self.n_actions, dtype=np.float32)[actions]
        enemy_before = self.enemy_health.copy()
        for a, act in enumerate(actions):
            if 2 <= act < N_ACTIONS_NO_ATTACK:
                self.ally_pos[a] += MOVE[act - 2]
            elif act >= N_ACTIONS_NO_ATTACK:
                e = act - N_ACTIONS_NO_ATTACK
                self.enemy_health[e] = max(0.0, self.enemy_health[e] - self.ally_damage)
        for _ in range(int((enemy_before > 0).sum())):  # enemies alive at the start of the step shoot back
            alive = np.flatnonzero(self.ally_health > 0)
            if len(alive) and self._rng.random() < 0.5:
                target = self._rng.choice(alive)
                self.ally_health[target] = max(0.0, self.ally_health[target] - self.enemy_damage)
        self._episode_steps += 1
        kills = int(((enemy_before > 0) & (self.enemy_health <= 0)).sum())
        reward = float((enemy_before - self.enemy_health).sum()) + self.reward_death_value * kills
        dead_allies, dead_enemies = int((self.ally_health <= 0).sum()), int((self.enemy_health <= 0).sum())
        info = {"battle_won": False, "dead_allies": dead_allies, "dead_enemies": dead_enemies}
        terminated = False
        if dead_enemies == self.n_enemies or dead_allies == self.n_agents:
            terminated = True
            self.battles_game += 1
            if dead_enemies == self.n_enemies and dead_allies < self.n_agents:
                self.battles_won += 1
                info["battle_won"] = True
                reward += self.reward_win
        elif self._episode_steps >= self.episode_limit:
            terminated = True
            if self.continuing_episode:
                info["episode_limit"] = True
            self.battles_game += 1
            self.timeouts += 1
        return reward / (self.max_reward / self.reward_scale_rate), terminated, info

    def seed(self) -> int | None:
        return self._seed

    def render(self, mode: str = "human") -> None:
        return None

    def save_replay(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True
