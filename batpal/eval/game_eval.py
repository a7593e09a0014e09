"""Evaluation inside the type game: a fixed type z in one world, played by a BATPAL module's joint policy."""

from __future__ import annotations

from typing import Any

import torch
from torchrl.envs import InitTracker, TransformedEnv

from batpal.eval.episodes import EvalResult, evaluate_policy
from batpal.game.worlds import TypeAssignment


@torch.no_grad()
def evaluate_type(
    module: Any, type_index: int, world: int, episodes: int, *, seed: int, max_episode_steps: int, num_envs: int
) -> EvalResult:
    """Every episode has type ``type_index``; world 1: the defender pi_omega with its belief, world 0: pi0; chunks
    of ``num_envs`` envs (the config's ``eval_envs``).

    The policy input is chi's belief (no teacher forcing) unless the module's ``belief_source`` says otherwise.
    """
    space = module.space

    def decorate(env: TransformedEnv) -> TransformedEnv:
        n = env.batch_size.numel()
        worlds = torch.full((n,), world, dtype=torch.long, device=env.device)
        draw = TypeAssignment(module.prior.probs.float(), space.n_sets, space.K, worlds, seed)
        draw.set_fixed_type(type_index)
        env.append_transform(InitTracker())
        env.append_transform(draw)
        if hasattr(module, "belief"):  # the calibration module has none: it plays world 0 alone
            env.append_transform(module.belief.primer())
        return env

    policy_input = getattr(module, "policy_input", None)
    forcing, attack_prob = getattr(policy_input, "teacher_forcing", 0.0), module.joint.attack_prob
    if policy_input is not None:
        policy_input.teacher_forcing = 0.0
    module.joint.attack_prob = 1.0  # an attack under evaluation acts at every step (Gen-Maxmin trains at q < 1)
    try:
        return evaluate_policy(
            module.rollout_policy(),
            module.env_name,
            episodes,
            seed=seed,
            gamma=module.ppo.gamma,
            max_episode_steps=max_episode_steps,
            num_envs=num_envs,
            device=module.device,
            env_kwargs=module.env_kwargs,
            decorate=decorate,
        )
    finally:
        if policy_input is not None:
            policy_input.teacher_forcing = forcing
        module.joint.attack_prob = attack_prob
