"""The joint policy of the game: the team acts with pi_omega (world 1) or pi0 (world 0); where z = (v, k) the
victim's slot is taken over by adversary psi_k (Algorithm 1, lines 9-11 and 20-22).

The adversary's exact input, action mask, action and log-prob are stored, so its PPO ratios and barrier
gradient are later computed on exactly the inputs it acted on (the authors' defect 2 in authors-code-notes.md).
"""

from __future__ import annotations

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torch import nn
from torchrl.modules import MaskedCategorical

from batpal.nn.actor import AgentActorNet
from batpal.nn.adversary import AdversaryPopulation, adversary_input

AGENTS, ADVERSARY = "agents", "adversary"


class JointPolicy(TensorDictModuleBase):
    """Samples every agent's action; the victim's slot holds the adversary's action when z != 0."""

    def __init__(
        self, omega: AgentActorNet, pi0: AgentActorNet, adversaries: AdversaryPopulation, attack_prob: float = 1.0
    ) -> None:
        super().__init__()
        self.omega, self.pi0, self.adversaries = omega, pi0, adversaries
        self.attack_prob = attack_prob  # per step (Gen-Maxmin: 0.5); otherwise the victim plays the team policy
        self.n_agents = omega.n_agents
        self.in_keys = [
            (AGENTS, "observation"),
            (AGENTS, "action_mask"),
            (AGENTS, "policy_belief"),
            "type",
            "victim",
            "severity",
            "world",
        ]
        self.out_keys = [
            (AGENTS, "action"),
            (AGENTS, "action_log_prob"),
            (ADVERSARY, "input"),
            (ADVERSARY, "action_mask"),
            (ADVERSARY, "action"),
            (ADVERSARY, "log_prob"),
            (ADVERSARY, "acted"),
        ]

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        obs, mask = td.get((AGENTS, "observation")), td.get((AGENTS, "action_mask"))  # [B, N, obs], [B, N, A]
        z, victim, severity, world = td.get("type"), td.get("victim"), td.get("severity"), td.get("world")  # [B]
        # each env's team runs only the network of its world (rows of world 1: omega, of world 0: pi0)
        in_world1 = world == 1  # [B]
        team_logits = obs.new_empty(*mask.shape)  # [B, N, A]
        team_logits[in_world1] = self.omega(obs[in_world1], td.get((AGENTS, "policy_belief"))[in_world1])
        team_logits[~in_world1] = self.pi0(obs[~in_world1])
        team = MaskedCategorical(logits=team_logits, mask=mask)
        actions = team.sample()  # [B, N]

        rows = torch.arange(obs.shape[0], device=obs.device)
        adv_in = adversary_input(obs, victim, self.n_agents)  # [B, obs + N]
        adv_mask = mask[rows, victim.clamp(min=0)]  # [B, A]
        adv = MaskedCategorical(logits=self.adversaries(adv_in, severity), mask=adv_mask)
        adv_action = adv.sample()  # [B]

        attacked = z > 0
        if self.attack_prob < 1.0:
            attacked = attacked & (torch.rand(attacked.shape, device=obs.device) < self.attack_prob)
        slot = nn.functional.one_hot(victim.clamp(min=0), self.n_agents).bool() & attacked.unsqueeze(-1)  # [B, N]
        actions = torch.where(slot, adv_action.unsqueeze(-1), actions)
        td.set((AGENTS, "action"), actions)
        td.set((AGENTS, "action_log_prob"), team.log_prob(actions))
        td.set((ADVERSARY, "input"), adv_in)
        td.set((ADVERSARY, "action_mask"), adv_mask)
        td.set((ADVERSARY, "action"), adv_action)
        td.set((ADVERSARY, "log_prob"), adv.log_prob(adv_action))
        td.set((ADVERSARY, "acted"), attacked)  # [B] the victim's slot holds the adversary's action
        return td
