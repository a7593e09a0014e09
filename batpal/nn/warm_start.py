"""Starting weights of the game's networks: pi_omega as pi0 (belief inputs zero), psi_k from trained attacks."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from batpal.nn.actor import AgentActorNet
from batpal.nn.adversary import AdversaryPopulation
from batpal.safe_load import load_weights

ATTACK_FILE = "attack.pt"


@torch.no_grad()
def warm_start_from_reference(omega: AgentActorNet, pi0: AgentActorNet, obs_dim: int, belief_dim: int) -> None:
    """pi_omega starts as pi0: same weights, the belief's input columns zero (so it first ignores the belief).

    Skipped, with a warning, when the widths differ (``model.hidden`` changed since pretraining).
    """
    layers_w = [m for m in omega.mlp.modules() if isinstance(m, nn.Linear)]
    layers_0 = [m for m in pi0.mlp.modules() if isinstance(m, nn.Linear)]
    same = len(layers_w) == len(layers_0) and all(
        a.out_features == b.out_features for a, b in zip(layers_w, layers_0, strict=True)
    )
    if not same:
        warnings.warn("pi_omega's widths differ from pi0's: training it from scratch (no warm start).", stacklevel=2)
        return
    first_w, first_0 = layers_w[0], layers_0[0]
    first_w.weight.zero_()
    first_w.weight[:, :obs_dim] = first_0.weight[:, :obs_dim]  # observation columns
    first_w.weight[:, obs_dim + belief_dim :] = first_0.weight[:, obs_dim:]  # agent one-hot columns
    first_w.bias.copy_(first_0.bias)
    for a, b in zip(layers_w[1:], layers_0[1:], strict=True):
        a.weight.copy_(b.weight)
        a.bias.copy_(b.bias)


@torch.no_grad()
def load_fixed_adversaries(population: AdversaryPopulation, paths: Sequence[str], env_name: str) -> None:
    """psi_k := the trained attack in ``paths[k - 1]`` (an attack run dir or its attack.pt), frozen (KT, Fixed
    Types)."""
    for k, given in enumerate(paths, start=1):
        path = Path(given)
        path = path / ATTACK_FILE if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"fixed adversary {given}: no {ATTACK_FILE} (train one with batpal.attack).")
        payload = load_weights(path, "fixed adversary")  # data only: a file holding code is refused
        if not isinstance(payload, dict) or "state_dict" not in payload:
            raise ValueError(f"fixed adversary {given}: {path} is not an attack checkpoint (no state_dict).")
        if payload.get("env") != env_name:
            raise ValueError(f"fixed adversary {given} was trained on {payload.get('env')!r}, not {env_name!r}.")
        try:
            population.nets[k - 1].load_state_dict(payload["state_dict"])
        except RuntimeError as err:
            raise ValueError(f"fixed adversary {given} does not fit psi_{k} (model.hidden differs?): {err}") from err
    population.requires_grad_(False)
