"""The joint policy of the game: the team acts with pi_omega (world 1) or pi0 (world 0); where z = (v, k) the
victim's slot is taken over by adversary psi_k (Algorithm 1, lines 9-11 and 20-22).

The adversary's exact input, action mask, action and log-prob are stored, so its PPO ratios and barrier
gradient are later computed on exactly the inputs it acted on (the authors' defect 2 in authors-code-notes.md).

Several victims (``game.victims = m > 1``, appendix D.5): v is a victim set and psi_k plays each of its m
agents on that agent's own observation ++ one-hot (shared parameters), so the compound adversary's policy is
the product over its victims and its log-prob the sum. Stored layout: ``("adversary", "input")`` [B, m, obs + N],
``"action_mask"`` [B, m, A], ``"action"`` [B, m]; with m = 1 the victim dim is dropped ([B, obs + N], [B, A],
[B]), the single-victim layout that ``batpal.eval.defenders`` and ``batpal.attacks`` read. ``"log_prob"`` [B] is
always the joint log-prob, ``"acted"`` [B] whether the set's slots hold the adversary's actions.
"""

from __future__ import annotations

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torch import nn

from batpal.nn.actor import AgentActorNet
from batpal.nn.adversary import AdversaryPopulation, adversary_input
from batpal.nn.sampling import sample_masked

AGENTS, ADVERSARY = "agents", "adversary"


class JointPolicy(TensorDictModuleBase):
    """Samples every agent's action; the victim's slot holds the adversary's action when z != 0."""

    def __init__(
        self,
        omega: AgentActorNet,
        pi0: AgentActorNet,
        adversaries: AdversaryPopulation,
        attack_prob: float = 1.0,
        victim_sets: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.omega, self.pi0, self.adversaries = omega, pi0, adversaries
        self.attack_prob = attack_prob  # per step (Gen-Maxmin: 0.5); otherwise the victim plays the team policy
        self.n_agents = omega.n_agents
        # [n_sets, m] the agents of victim set v (``TypeSpace.members``); default: one victim, set v = {v}
        sets = torch.arange(self.n_agents).unsqueeze(-1) if victim_sets is None else victim_sets.long()
        self.register_buffer("victim_sets", sets.clone(), persistent=False)
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
        if bool(in_world1.any()):  # calibrate plays world 0 alone, without a belief
            team_logits[in_world1] = self.omega(obs[in_world1], td.get((AGENTS, "policy_belief"))[in_world1])
        team_logits[~in_world1] = self.pi0(obs[~in_world1])
        actions, _, team_log_p = sample_masked(team_logits, mask)  # [B, N], _, [B, N, A]

        who = self.victim_sets[victim.clamp(min=0)]  # [B, m] the victim agents (set 0's where benign)
        adv_in = adversary_input(obs, who, self.n_agents)  # [B, m, obs + N]
        adv_mask = mask.gather(1, who.unsqueeze(-1).expand(-1, -1, mask.shape[-1]))  # [B, m, A]
        single = who.shape[-1] == 1  # one victim: the layout without the victim dim (bit-exact log-probs)
        if single:
            adv_in, adv_mask = adv_in.squeeze(1), adv_mask.squeeze(1)  # [B, obs + N], [B, A]
        adv_action, adv_log_prob, _ = sample_masked(self.adversaries(adv_in, severity), adv_mask)  # [B] or [B, m]
        if not single:  # the compound adversary: product policy over its victims
            adv_log_prob = adv_log_prob.sum(-1)  # [B]

        attacked = z > 0
        if self.attack_prob < 1.0:
            attacked = attacked & (torch.rand(attacked.shape, device=obs.device) < self.attack_prob)
        in_set = nn.functional.one_hot(who, self.n_agents).bool().any(-2)  # [B, N]
        slot = in_set & attacked.unsqueeze(-1)  # [B, N]
        actions = torch.where(slot, actions.scatter(1, who, adv_action.view(who.shape)), actions)
        td.set((AGENTS, "action"), actions)
        # the team policy's log-prob of the executed actions (a victim's slot: of psi_k's action, masked in the loss)
        td.set((AGENTS, "action_log_prob"), team_log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1))
        td.set((ADVERSARY, "input"), adv_in)
        td.set((ADVERSARY, "action_mask"), adv_mask)
        td.set((ADVERSARY, "action"), adv_action)
        td.set((ADVERSARY, "log_prob"), adv_log_prob)  # [B] joint log-prob over the set
        td.set((ADVERSARY, "acted"), attacked)  # [B] the victims' slots hold the adversary's actions
        return td
