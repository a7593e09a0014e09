"""The attack interface: a module that picks the victim's action from what the victim sees.

An attack reads ``("agents", "observation")`` [B, N, obs], ``("agents", "action_mask")`` [B, N, A] and
``"victim"`` [B] (-1: no attack in that env) and writes ``("adversary", "action")`` [B] long; ``AttackedTeam``
puts it into the victim's slot. Subclasses implement ``act``; every chosen action is checked: an integer dtype
(float actions are refused, never truncated), within 0..A-1, and allowed by the victim's action mask.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase

AGENTS, ADVERSARY = "agents", "adversary"
OBSERVATION, ACTION_MASK, VICTIM_ACTION = (AGENTS, "observation"), (AGENTS, "action_mask"), (ADVERSARY, "action")
INTEGER_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)  # never float or bool


class Attack(TensorDictModuleBase, ABC):
    """Base class: ``label`` names the attack in tables; ``targets_victims`` False means "play no victim"."""

    targets_victims = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.in_keys = [OBSERVATION, ACTION_MASK, "victim"]
        self.out_keys = [VICTIM_ACTION]

    @abstractmethod
    def act(self, observation: torch.Tensor, victim_mask: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
        """The victim's action [B] long from every agent's observation [B, N, obs], its mask [B, A], victim [B]."""

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        obs, mask, victim = td.get(OBSERVATION), td.get(ACTION_MASK), td.get("victim")
        rows = torch.arange(obs.shape[0], device=obs.device)
        victim_mask = mask[rows, victim.clamp(min=0)]  # [B, A]
        action = torch.as_tensor(self.act(obs, victim_mask, victim), device=obs.device)
        if action.shape != victim.shape:
            raise ValueError(
                f"attack {self.label!r} returned actions of shape {list(action.shape)}, "
                f"expected one per env {list(victim.shape)}."
            )
        if action.dtype not in INTEGER_DTYPES:
            raise TypeError(
                f"attack {self.label!r} returned actions of dtype {action.dtype}; actions are action indices, an "
                "integer tensor (torch.long): round or argmax them in the attack, they are not truncated here."
            )
        action = action.long()
        n_actions = mask.shape[-1]
        outside = (victim >= 0) & ((action < 0) | (action >= n_actions))
        if bool(outside.any()):
            bad = action[outside][:5].tolist()
            raise ValueError(f"attack {self.label!r} chose actions outside 0..{n_actions - 1}: {bad}.")
        legal = victim_mask.gather(-1, action.clamp(0, n_actions - 1).unsqueeze(-1)).squeeze(-1)
        if not bool(legal[victim >= 0].all()):
            bad = action[(victim >= 0) & ~legal][:5].tolist()
            raise ValueError(f"attack {self.label!r} chose actions the victim's action mask forbids: {bad}.")
        td.set(VICTIM_ACTION, action)
        return td


def victim_observation(observation: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
    """The victim's own observation [B, obs] (agent 0's where victim is -1)."""
    rows = torch.arange(observation.shape[0], device=observation.device)
    return observation[rows, victim.clamp(min=0)]
