"""RL attacks ACT, DYN-1 and DYN-2: the trained adversary's policy and its ``attack.pt`` artefact.

The adversary is ``torchrl.modules.MLP`` on ``adversary_input(obs, victim, N)`` (the victim's observation and its
one-hot id, as BATPAL's psi_k), sampled from ``MaskedCategorical`` over the victim's action mask. During rollouts
it is a TensorDict module reading ``("agents", "observation")``, ``("agents", "action_mask")`` and ``"victim"``
and writing ``("adversary", "input" | "action_mask" | "logits" | "action" | "log_prob")``: ``AttackedTeam`` puts
the action into the victim's slot, and PPO recomputes ratios on exactly the stored input and mask.

``attack.pt`` = ``dict(kind, env, dims, hidden, activation, c, defender, state_dict)`` with ``state_dict`` the
MLP's; ``batpal.attacks.checkpoint.load_trained_attack`` (the evaluator's loader) rebuilds it as a frozen attack.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModule, TensorDictModuleBase, TensorDictSequential
from torchrl.modules import MLP, MaskedCategorical, ProbabilisticActor

from batpal.atomic import save_weights
from batpal.nn.activations import activation_class
from batpal.nn.adversary import adversary_input

AGENTS, ADVERSARY = "agents", "adversary"
KINDS = ("act", "dyn1", "dyn2")  # detectability weight c: 0 for act, c1 for dyn1, c2 > c1 for dyn2
ATTACK_FILE = "attack.pt"


def check_kind(kind: str) -> str:
    """``kind`` if it names an RL attack; otherwise a ValueError listing act, dyn1, dyn2."""
    if kind not in KINDS:
        raise ValueError(f"unknown attack {kind!r}; known RL attacks: {', '.join(KINDS)}.")
    return kind


def make_attack_net(dims: dict[str, int], hidden: Sequence[int], activation: str) -> MLP:
    """The adversary's MLP: (victim observation ++ victim one-hot) -> logits over the victim's actions."""
    return MLP(
        in_features=dims["obs_dim"] + dims["n_agents"],
        out_features=dims["n_actions"],
        num_cells=list(hidden),
        activation_class=activation_class(activation),
    )


class AdversaryInput(TensorDictModuleBase):
    """Writes what the adversary acts on: ``adversary_input`` [B, obs + N] and the victim's action mask [B, A]."""

    def __init__(self, n_agents: int) -> None:
        super().__init__()
        self.n_agents = n_agents
        self.in_keys = [(AGENTS, "observation"), (AGENTS, "action_mask"), "victim"]
        self.out_keys = [(ADVERSARY, "input"), (ADVERSARY, "action_mask")]

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        obs, mask, victim = td.get((AGENTS, "observation")), td.get((AGENTS, "action_mask")), td.get("victim")
        rows = torch.arange(obs.shape[0], device=obs.device)
        td.set((ADVERSARY, "input"), adversary_input(obs, victim, self.n_agents))
        td.set((ADVERSARY, "action_mask"), mask[rows, victim.clamp(min=0)])  # [B, A]; agent 0's where no victim
        return td


def make_attack_actor(net: MLP) -> ProbabilisticActor:
    """``("adversary", "action") ~ MaskedCategorical(net(input), action_mask)`` with its log-prob (PPO's actor)."""
    logits = TensorDictModule(net, in_keys=[(ADVERSARY, "input")], out_keys=[(ADVERSARY, "logits")])
    return ProbabilisticActor(
        logits,
        in_keys={"logits": (ADVERSARY, "logits"), "mask": (ADVERSARY, "action_mask")},
        out_keys=[(ADVERSARY, "action")],
        distribution_class=MaskedCategorical,
        return_log_prob=True,
        log_prob_key=(ADVERSARY, "log_prob"),
    )


def make_attack_policy(actor: ProbabilisticActor, n_agents: int) -> TensorDictSequential:
    """The rollout attack: builds the input from the env's keys, then samples the victim's action."""
    return TensorDictSequential(AdversaryInput(n_agents), actor)


def save_attack(
    path: str | Path,
    net: MLP,
    *,
    kind: str,
    env_name: str,
    dims: dict[str, int],
    hidden: Sequence[int],
    activation: str,
    c: float,
    defender: str | Path,
) -> None:
    """Writes ``attack.pt`` in the format of the module doc (atomically: a kill never leaves half a file)."""
    payload = {
        "kind": check_kind(kind),
        "env": str(env_name),
        "dims": {str(k): int(v) for k, v in dims.items()},
        "hidden": [int(h) for h in hidden],
        "activation": str(activation),
        "c": float(c),
        "defender": str(defender),
        "state_dict": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
    }
    save_weights(payload, path, "attack")
