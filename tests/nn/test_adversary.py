"""psi_1..psi_K: each env's logits come from its own severity's network; the warm start copies pi0."""

from __future__ import annotations

import torch

from batpal.nn.actor import AgentActorNet
from batpal.nn.adversary import AdversaryPopulation, adversary_input


def test_each_row_uses_its_own_severity():
    torch.manual_seed(0)
    population = AdversaryPopulation(6, 5, K=3, hidden=(16,))
    x = torch.randn(7, 6)
    severity = torch.tensor([1, 3, 2, 2, 0, 3, 1])  # 0 (benign rows) is served by psi_1
    logits = population(x, severity)
    for row, k in enumerate(severity.clamp(min=1).tolist()):
        torch.testing.assert_close(logits[row], population.logits_of(k, x[row : row + 1])[0])


def test_warm_start_makes_every_adversary_act_as_pi0():
    torch.manual_seed(0)
    n_agents, obs_dim, n_actions = 3, 4, 5
    pi0 = AgentActorNet(obs_dim, n_agents, n_actions, hidden=(16, 16))
    population = AdversaryPopulation(obs_dim + n_agents, n_actions, K=2, hidden=(16, 16))
    assert population.warm_start_from(pi0.mlp)
    obs = torch.randn(8, n_agents, obs_dim)
    victim = torch.randint(0, n_agents, (8,))
    team = pi0(obs)[torch.arange(8), victim]  # pi0's logits for the victim agent
    for k in (1, 2):
        torch.testing.assert_close(population.logits_of(k, adversary_input(obs, victim, n_agents)), team)
    # the copies are independent parameters: stepping psi_1 leaves psi_2 and pi0 alone
    population.nets[0][0].weight.data.add_(1.0)
    torch.testing.assert_close(population.logits_of(2, adversary_input(obs, victim, n_agents)), team)


def test_warm_start_refuses_other_widths():
    pi0 = AgentActorNet(4, 3, 5, hidden=(16,))
    population = AdversaryPopulation(7, 5, K=2, hidden=(32,))
    before = [p.clone() for p in population.parameters()]
    assert not population.warm_start_from(pi0.mlp)
    assert all(torch.equal(a, b) for a, b in zip(before, population.parameters(), strict=True))
