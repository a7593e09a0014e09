"""Many types of the game in one batched rollout: each env its own fixed type z and world, so the defender's
robustness (no attack, each psi_k on each victim set, and pi0 under each psi_k for its severity) costs one
rollout of ``play_chunks`` instead of one per (type, world). Used by the evaluation during training; a stage's
final evaluation keeps ``game_eval.evaluate_type`` (one type per rollout)."""

from __future__ import annotations

from typing import Any

import torch
from torchrl.envs import InitTracker, TransformedEnv

from batpal.eval.episodes import EvalResult, measure, play_chunks, span_rows
from batpal.eval.normalize import normalized_return
from batpal.game.worlds import TypeAssignment


class PerEnvTypes(TypeAssignment):
    """The type draw with every env's type fixed: ``types`` [B] at each of its resets, whatever the prior."""

    def __init__(self, module: Any, world: torch.Tensor, types: torch.Tensor, seed: int) -> None:
        space = module.space
        super().__init__(module.prior.probs.float(), space.n_sets, space.K, world, seed)
        self.register_buffer("types", types.long().clone())  # [B]

    def _draw(self, reset: torch.Tensor) -> None:
        self.current.copy_(torch.where(reset, self.types, self.current))


@torch.no_grad()
def evaluate_types(module: Any, types: torch.Tensor, worlds: torch.Tensor, *, seed: int, max_episode_steps: int,
                   num_envs: int) -> EvalResult:
    """Episode i has type ``types[i]`` in world ``worlds[i]`` (1: pi_omega on chi's belief, 0: pi0), as
    ``evaluate_type`` plays one type: no teacher forcing, the attack acting at every step; chunks of ``num_envs``."""

    def decorate(env: TransformedEnv, span: slice, chunk_seed: int) -> TransformedEnv:
        env.append_transform(InitTracker())
        env.append_transform(PerEnvTypes(module, span_rows(worlds, span).to(env.device),
                                          span_rows(types, span).to(env.device), chunk_seed))
        env.append_transform(module.belief.primer())
        return env

    forcing, attack_prob = module.policy_input.teacher_forcing, module.joint.attack_prob
    module.policy_input.teacher_forcing, module.joint.attack_prob = 0.0, 1.0
    try:
        chunks = play_chunks(module.rollout_policy(), module.env_name, int(types.numel()), seed=seed,
                             max_episode_steps=max_episode_steps, num_envs=num_envs, device=module.device,
                             env_kwargs=module.env_kwargs, decorate=decorate)
        return measure(chunks, module.ppo.gamma)
    finally:
        module.policy_input.teacher_forcing, module.joint.attack_prob = forcing, attack_prob


def robustness(module: Any, episodes: int, *, seed: int, max_episode_steps: int, num_envs: int) -> dict[str, Any]:
    """The defender with no attack and against each psi_k (``episodes`` per victim set), and psi_k's severity
    (eq. 3's eta of pi0's discounted return under it, averaged over victim sets, as the stage's summary):
    ``{"no_attack": figures, "psi_k": figures | {"severity": eta}}``, figures as the summary's."""
    space, bands = module.space, module.bands
    groups: list[tuple[str, int, int, int]] = [("no_attack", 0, 1, -1)]  # (name, z, world, victim set)
    for k in range(1, space.K + 1):
        for v in range(space.n_sets):
            z = int(space.type_index(torch.tensor(v), torch.tensor(k)))
            groups += [(f"psi_{k}", z, 1, v), (f"psi_{k}/pi0", z, 0, v)]
    types = torch.tensor([z for _, z, _, _ in groups]).repeat_interleave(episodes)  # [groups * episodes]
    worlds = torch.tensor([w for _, _, w, _ in groups]).repeat_interleave(episodes)
    result = evaluate_types(module, types, worlds, seed=seed, max_episode_steps=max_episode_steps, num_envs=num_envs)
    pieces: dict[str, list[EvalResult]] = {}
    eta: dict[str, list[float]] = {}
    for i, (name, _, _, v) in enumerate(groups):
        rows = slice(i * episodes, (i + 1) * episodes)
        wins = None if result.wins is None else result.wins[rows]
        piece = EvalResult(result.returns[rows], result.discounted[rows], wins)
        pieces.setdefault(name, []).append(piece)
        if name.endswith("/pi0"):
            severity = bands.severity(piece.discounted.mean(), torch.tensor(v))
            eta.setdefault(name.removesuffix("/pi0"), []).append(float(severity))
    report = {name: _figures(module.env_name, EvalResult.concat(found)) for name, found in pieces.items()
              if not name.endswith("/pi0")}
    for name, etas in eta.items():
        report[name]["severity"] = sum(etas) / len(etas)
    return report


def _figures(env_name: str, result: EvalResult) -> dict[str, float | None]:
    s = result.summary()
    out = {"return_mean": s["return_mean"], "return_normalized": normalized_return(env_name, s["return_mean"])}
    if "win_rate" in s:
        out["win_rate"] = s["win_rate"]
    return out
