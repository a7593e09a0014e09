"""MPE-Spread frames drawn by mpe2's own renderer: our episode replayed in an mpe2 ``simple_spread_v3`` world.

The world starts from our env's recorded start (agent and landmark positions, velocities) and steps the actions our
policies chose; mpe2's dynamics are the ones our port reproduces (``batpal/envs/mpe.py``), so its agents stay on
ours: ``replay`` returns mpe2's positions and ``frames`` refuses a replay that drifts from our recorded positions by
more than ``DRIFT_TOL`` (float32 against mpe2's float64 drifts by ~1e-5 over 50 steps). The victims are recoloured
red before the first frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from batpal.envs.mpe import MPESpreadEnv
from batpal.render.recording import Recording

VICTIM_COLOUR = np.array([0.85, 0.15, 0.15])  # mpe2 draws colour * 200; its agents are (0.35, 0.35, 0.85)
DRIFT_TOL = 1e-3


def snapshot(base: MPESpreadEnv) -> dict[str, np.ndarray]:
    """Env 0's agent positions and velocities and landmark positions, [N, 2] each, float64."""
    copy = {"agent_pos": base.agent_pos, "agent_vel": base.agent_vel, "landmark_pos": base.landmark_pos}
    return {key: np.array(value[0].cpu(), dtype=np.float64) for key, value in copy.items()}  # never a view of world


def meta(base: MPESpreadEnv) -> dict[str, Any]:
    """The settings mpe2's env is built with."""
    return {"n_agents": base.n_agents, "local_ratio": base.local_ratio}


def replay(recording: Recording, render: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """mpe2's frames (700 x 700 RGB, one per state; none unless ``render``) and agent positions [T + 1, N, 2]."""
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(
        N=recording.meta["n_agents"],
        local_ratio=recording.meta["local_ratio"],
        max_cycles=max(recording.steps, 1),
        continuous_actions=False,
        render_mode="rgb_array" if render else None,
    )
    try:
        env.reset(seed=0)
        raw = env.unwrapped
        world, start = raw.world, recording.states[0]
        for agent, pos, vel in zip(world.agents, start["agent_pos"], start["agent_vel"], strict=True):
            agent.state.p_pos, agent.state.p_vel = pos.copy(), vel.copy()
        for landmark, pos in zip(world.landmarks, start["landmark_pos"], strict=True):
            landmark.state.p_pos = pos.copy()
        # the zoom mpe2 computes at its reset, for the start copied in (attribute of mpe2 1.1's SimpleEnv)
        raw.original_cam_range = np.max(np.abs([entity.state.p_pos for entity in world.entities]))
        for v in recording.victims:
            world.agents[v].color = VICTIM_COLOUR
        names = [agent.name for agent in world.agents]
        frames = [env.render()] if render else []
        positions = [np.array([agent.state.p_pos for agent in world.agents])]
        for action in recording.actions:
            env.step({name: int(a) for name, a in zip(names, action, strict=True)})
            if render:
                frames.append(env.render())
            positions.append(np.array([agent.state.p_pos for agent in world.agents]))
    finally:
        env.close()
    return frames, np.stack(positions)  # [T + 1, N, 2]


def drift(recording: Recording, positions: np.ndarray) -> float:
    """Largest distance per coordinate between mpe2's agent positions [T + 1, N, 2] and ours."""
    ours = np.stack([state["agent_pos"] for state in recording.states])
    if ours.shape != positions.shape:
        raise RuntimeError(f"mpe2's replay has positions of shape {positions.shape}, our episode {ours.shape}.")
    return float(np.abs(ours - positions).max())


def frames(recording: Recording, size: int) -> list[np.ndarray]:
    """One ``size`` x ``size`` RGB frame per state, drawn by mpe2 from the replay of our episode."""
    images, positions = replay(recording)
    gap = drift(recording, positions)
    if gap > DRIFT_TOL:
        raise RuntimeError(
            f"mpe2's replay of the episode left ours (agent positions differ by {gap:.2e} > {DRIFT_TOL}); the video "
            "would not show the evaluated dynamics."
        )
    return [np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BOX)) for image in images]
