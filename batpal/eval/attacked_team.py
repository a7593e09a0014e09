"""The attacked team: a defender's policy with the victim's slot (or a victim set's slots) hijacked by an attack.

Attacks write ``("adversary", "action")`` for the env's ``"victim"``; ``AttackedTeam`` runs the team, then the
attack, and puts the attack's action into the victim's slot, so the env (and chi's previous-action input) sees it.
"""

from __future__ import annotations

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase

AGENTS, ADVERSARY = "agents", "adversary"


class AttackedTeam(TensorDictModuleBase):
    """Runs the team, then the attack, and puts ``("adversary", "action")`` into slot ``victim`` where victim >= 0.

    With ``victim_sets`` [n_sets, m] (m > 1 victims) ``victim`` is a set index: the single-victim attack runs
    once per member j, seeing ``victim`` = the j-th agent of the set, and each member's slot gets its action
    (``("adversary", "action")`` [B, m]). The env steps (and ``PreviousAction`` records for chi) the final
    actions, so the belief sees the attack.
    """

    def __init__(
        self, team: TensorDictModuleBase, attack: TensorDictModuleBase, victim_sets: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        self.team, self.attack = team, attack
        self.victim_sets = victim_sets
        self.in_keys = _unique([*team.in_keys, *attack.in_keys, "victim"])
        self.out_keys = _unique([*team.out_keys, *attack.out_keys, (AGENTS, "action")])

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        td = self.team(td)
        if self.victim_sets is not None and self.victim_sets.shape[-1] > 1:
            return self._attack_sets(td, self.victim_sets)
        td = self.attack(td)
        actions, victim = td.get((AGENTS, "action")), td.get("victim")  # [B, N], [B]
        n_agents = actions.shape[-1]
        slot = torch.nn.functional.one_hot(victim.clamp(min=0), n_agents).bool() & (victim >= 0).unsqueeze(-1)
        td.set((AGENTS, "action"), torch.where(slot, td.get((ADVERSARY, "action")).unsqueeze(-1), actions))
        return td

    def _attack_sets(self, td: TensorDictBase, sets: torch.Tensor) -> TensorDictBase:
        """The attack on each member of the env's victim set, on that member's observation; -1: no attack."""
        actions, victim_set = td.get((AGENTS, "action")), td.get("victim")  # [B, N], [B] set index
        attacked = victim_set >= 0
        who = sets.to(actions.device)[victim_set.clamp(min=0)]  # [B, m]
        chosen = []
        for j in range(who.shape[-1]):
            td.set("victim", torch.where(attacked, who[:, j], -1))  # the single-victim view of member j
            chosen.append(self.attack(td).get((ADVERSARY, "action")))  # [B]
        td.set("victim", victim_set)
        adv_action = torch.stack(chosen, dim=-1)  # [B, m]
        hijacked = actions.scatter(1, who, adv_action)
        td.set((AGENTS, "action"), torch.where(attacked.unsqueeze(-1), hijacked, actions))
        td.set((ADVERSARY, "action"), adv_action)
        return td


def _unique(keys: list) -> list:
    out: list = []
    for key in keys:
        if key not in out:
            out.append(key)
    return out
