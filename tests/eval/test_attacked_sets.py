"""``AttackedTeam`` with victim sets (m = 2 of 4 agents): the attack plays exactly the set's slots, each member on
its own observation, and leaves every other slot (and benign envs) to the team."""

from __future__ import annotations

import torch
from tensordict import TensorDict, TensorDictBase
from tensordict.nn import TensorDictModuleBase

from batpal.attacks.user import UserAttack
from batpal.defenders import AttackedTeam
from batpal.eval.victims import FixedVictims
from batpal.game.types import TypeSpace

N, A, TEAM_ACTION = 4, 6, 5


class ConstantTeam(TensorDictModuleBase):
    """Every agent plays ``TEAM_ACTION``."""

    in_keys = [("agents", "observation")]
    out_keys = [("agents", "action")]

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        obs = td.get(("agents", "observation"))
        td.set(("agents", "action"), torch.full(obs.shape[:2], TEAM_ACTION, dtype=torch.long))
        return td


def own_id(obs: torch.Tensor) -> torch.Tensor:
    """The victim's action is read from its own observation: agent i sees i + 1 everywhere."""
    return obs[:, 0].long()


def _td(victim: list[int]) -> TensorDict:
    b = len(victim)
    obs = (torch.arange(N, dtype=torch.float32) + 1).view(1, N, 1).expand(b, N, 3).clone()  # agent i sees i + 1
    mask = torch.ones(b, N, A, dtype=torch.bool)
    return TensorDict(
        {"agents": {"observation": obs, "action_mask": mask}, "victim": torch.tensor(victim)}, batch_size=[b]
    )


def test_every_slot_of_the_set_and_no_other_holds_the_attacks_action():
    space = TypeSpace(N, 1, 2)
    victim = [-1, *range(space.n_sets)]  # benign, then each of the 6 sets
    team = AttackedTeam(ConstantTeam(), UserAttack(own_id, "own"), space.members)
    td = team(_td(victim))
    actions = td.get(("agents", "action"))
    for row, v in enumerate(victim):
        members = set(space.sets[v]) if v >= 0 else set()
        expected = [i + 1 if i in members else TEAM_ACTION for i in range(N)]
        assert actions[row].tolist() == expected, (v, space.sets[v] if v >= 0 else None)
    assert td.get("victim").tolist() == victim  # the set index is restored for the env
    assert td.get(("adversary", "action"))[1:].tolist() == [[a + 1, b + 1] for a, b in space.sets]


def test_single_victim_layout_is_unchanged():
    td = AttackedTeam(ConstantTeam(), UserAttack(own_id, "own"))(_td([-1, 0, 3]))
    assert td.get(("agents", "action")).tolist() == [[5, 5, 5, 5], [1, 5, 5, 5], [5, 5, 5, 4]]
    assert td.get(("adversary", "action")).shape == (3,)


def test_fixed_victim_sets_write_set_types():
    space = TypeSpace(N, 2, 2)
    fixed = FixedVictims(torch.tensor([-1, 0, 5]), N, K=2, severity=2, victims=2)
    td = fixed._call(TensorDict({}, batch_size=[3]))
    assert td.get("victim").tolist() == [-1, 0, 5]
    assert (
        td.get("type").tolist()
        == [0, 2, 12]
        == space.type_index(torch.tensor([0, 0, 5]), torch.tensor([0, 2, 2])).tolist()
    )
    assert td.get("severity").tolist() == [0, 2, 2]
