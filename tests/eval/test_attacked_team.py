"""``AttackedTeam``: the attack plays exactly the victim's slot (with victim sets, m = 2 of 4 agents, each member on
its own observation), leaves every other slot (and benign envs) to the team, and chi's belief sees its action."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tensordict import TensorDict, TensorDictBase
from tensordict.nn import TensorDictModuleBase

from batpal.attacks.base import Attack
from batpal.attacks.user import UserAttack
from batpal.envs import make
from batpal.eval.attacked_team import AttackedTeam
from batpal.eval.defenders import load_defender
from batpal.game.types import TypeSpace

VICTIMS = torch.tensor([-1, 0, 1, 2])


class ConstantAttack(Attack):
    """Always action ``a``: easy to recognise in the victim's slot."""

    def __init__(self, a: int) -> None:
        super().__init__(f"constant {a}")
        self.a = a

    def act(self, observation, victim_mask, victim):
        return torch.full_like(victim, self.a)


def _env(defender, victims=VICTIMS, seed=0):
    return defender.decorate(make(defender.env_name, victims.numel(), seed), victims, seed)


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


@pytest.mark.parametrize("kind", ["game", "mappo"])
def test_attacked_team_replaces_only_the_victim_slot(kind, game_run, mappo_run):
    defender = load_defender(game_run if kind == "game" else mappo_run)
    env = _env(defender)
    td = env.reset()
    torch.manual_seed(0)
    alone = defender.policy()(td.clone())["agents", "action"]
    torch.manual_seed(0)
    attacked = AttackedTeam(defender.policy(), ConstantAttack(3))(td.clone())["agents", "action"]
    slot = F.one_hot(VICTIMS.clamp(min=0), 3).bool() & (VICTIMS >= 0).unsqueeze(-1)
    assert bool((attacked[slot] == 3).all())
    assert torch.equal(attacked[~slot], alone[~slot])  # the team's own samples elsewhere, row -1 untouched


def test_belief_sees_the_attacks_action_not_psi_k(game_run):
    defender = load_defender(game_run)
    env = _env(defender)
    torch.manual_seed(1)
    traj = env.rollout(20, AttackedTeam(defender.policy(), ConstantAttack(3)), break_when_any_done=False)
    actions = traj["agents", "action"]  # [B, T, N]
    prev = traj["agents", "prev_action"]  # [B, T, N, A], chi's previous-action input
    assert torch.equal(prev[:, 1:], F.one_hot(actions[:, :-1], 5).float())  # exactly the executed actions
    for b, v in enumerate(VICTIMS.tolist()):
        if v >= 0:
            assert bool((actions[b, :, v] == 3).all())
            assert bool((prev[b, 1:, v, 3] == 1).all())  # psi_k's own samples never reach the belief
    # and chi's belief in the trajectory is computed from those inputs
    seq = defender.module.belief.sequence_module()
    replay = seq(traj.select(*seq.in_keys).clone())
    assert torch.allclose(replay["agents", "belief"], traj["agents", "belief"], atol=1e-5)
