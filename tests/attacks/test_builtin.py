"""Built-in attacks (none, random, noop), the legality check of every attack, and make_attack's errors."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict
from tensordict.nn import TensorDictModuleBase

from batpal.attacks import make_attack
from batpal.attacks.base import Attack
from batpal.eval.attacked_team import AttackedTeam


def batch(victim: list[int], mask: torch.Tensor | None = None, n: int = 3, a: int = 5, obs: int = 6) -> TensorDict:
    """Observations whose first feature is the agent's index, team actions all 4."""
    b = len(victim)
    observation = torch.arange(n).float().view(1, n, 1).expand(b, n, obs).clone()
    mask = torch.ones(b, n, a, dtype=torch.bool) if mask is None else mask
    return TensorDict(
        {
            "agents": {"observation": observation, "action_mask": mask, "action": torch.full((b, n), 4)},
            "victim": torch.tensor(victim),
        },
        batch_size=[b],
    )


def test_random_draws_uniformly_from_the_victims_legal_actions():
    mask = torch.zeros(4000, 3, 5, dtype=torch.bool)
    mask[:, 1, [1, 3]] = True  # the victim (agent 1) may only play 1 or 3
    mask[:, [0, 2], 0] = True
    torch.manual_seed(0)
    action = make_attack("random")(batch([1] * 4000, mask))["adversary", "action"]
    assert set(action.tolist()) == {1, 3}
    assert abs(float((action == 1).float().mean()) - 0.5) < 0.05


def test_noop_is_action_zero_or_the_first_legal_one():
    mask = torch.ones(2, 3, 5, dtype=torch.bool)
    mask[1, 2, :2] = False  # victim 2 of env 1 cannot play 0 or 1
    action = make_attack("noop")(batch([0, 2], mask))["adversary", "action"]
    assert action.tolist() == [0, 2]


def test_none_leaves_every_action_alone_and_attacks_nobody():
    attack = make_attack("none")
    assert attack.label == "No attack" and not attack.targets_victims
    team = _FixedTeam()
    td = AttackedTeam(team, attack)(batch([-1, 0, 2]))
    assert td["agents", "action"].tolist() == [[4, 4, 4]] * 3


def test_attacked_team_writes_the_attack_into_the_victim_slot_only():
    td = AttackedTeam(_FixedTeam(), make_attack("noop"))(batch([-1, 0, 2]))
    assert td["agents", "action"].tolist() == [[4, 4, 4], [0, 4, 4], [4, 4, 0]]


def test_illegal_or_misshapen_actions_are_refused():
    mask = torch.ones(2, 3, 5, dtype=torch.bool)
    mask[:, :, 2] = False
    with pytest.raises(ValueError, match=r"action mask forbids: \[2, 2\]"):
        _Returns(torch.tensor([2, 2]))(batch([0, 1], mask))
    with pytest.raises(ValueError, match="expected one per env"):
        _Returns(torch.zeros(2, 3, dtype=torch.long))(batch([0, 1]))
    with pytest.raises(ValueError, match=r"attack 'fixed' chose actions outside 0\.\.4: \[5, -1\]"):
        _Returns(torch.tensor([5, -1]))(batch([0, 1]))
    with pytest.raises(TypeError, match=r"attack 'fixed' returned actions of dtype torch\.float64"):
        _Returns(torch.tensor([2.0, 3.0], dtype=torch.float64))(batch([0, 1]))
    assert _Returns(torch.tensor([1, 3], dtype=torch.int32))(batch([0, 1]))["adversary", "action"].dtype == torch.long
    _Returns(torch.tensor([2, 2]))(batch([-1, -1], mask))  # no victim: nothing is played, nothing checked


def test_make_attack_names_what_exists():
    with pytest.raises(ValueError, match=r"unknown attack 'sevrity_1'; known: none, random, noop, .*<file\.py>"):
        make_attack("sevrity_1")
    with pytest.raises(ValueError, match="none of the defenders has defender.pt"):
        make_attack("severity_1")
    with pytest.raises(ValueError, match="unknown attack 'a_EIR'"):
        make_attack("a_EIR")


class _FixedTeam(TensorDictModuleBase):
    """A stand-in team: every agent plays 4 (already in the batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_keys = [("agents", "action")]
        self.out_keys = [("agents", "action")]

    def forward(self, td):
        return td


class _Returns(Attack):
    def __init__(self, action: torch.Tensor) -> None:
        super().__init__("fixed")
        self.action = action

    def act(self, observation, victim_mask, victim):
        return self.action
