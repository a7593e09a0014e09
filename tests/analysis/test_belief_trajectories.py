"""belief_trajectories on a tiny finished run: shapes, beliefs, the type actually played, seeds, attacks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase

from batpal.analysis.belief_trajectories import belief_trajectories, resolve_type
from batpal.modules.factory import load_game_module

EPISODES, T, N, K = 4, 50, 3, 4  # the tiny run: MPE-Spread, 50-step episodes, 3 agents, K = 4


class AlwaysZero(TensorDictModuleBase):
    """An attack outside Z: the victim always plays action 0 (MPE's no-op)."""

    label = "always-0"
    in_keys = ["victim"]
    out_keys = [("adversary", "action")]

    def forward(self, td: TensorDictBase) -> TensorDictBase:
        td.set(("adversary", "action"), torch.zeros_like(td.get("victim")))
        return td


def test_beliefs_per_type_shapes_sums_and_played_type(game_run: Path) -> None:
    trajs = belief_trajectories(game_run, [0, (1, 2), 9], episodes=EPISODES, seed=3)
    assert list(trajs) == [0, 1 + 1 * K + 1, 9]  # (v=1, k=2) is index 6; 9 is (v=2, k=1)
    expected = {0: (-1, 0, "no attack"), 6: (1, 2, "psi_2 on victim 1"), 9: (2, 1, "psi_1 on victim 2")}
    for z, traj in trajs.items():
        assert (traj.victim, traj.severity, traj.label) == expected[z]
        assert traj.beliefs.shape == (EPISODES, T, N, 1 + N * K)
        assert traj.alive.all()  # MPE episodes last exactly 50 steps
        assert torch.isfinite(traj.beliefs).all() and (traj.beliefs >= 0).all()
        torch.testing.assert_close(traj.beliefs.sum(-1), torch.ones(EPISODES, T, N))  # softmax over Z
        assert (traj.types == z).all()  # the env carried the chosen type at every step
        assert traj.returns.shape == (EPISODES,) and torch.isfinite(traj.returns).all()
        assert traj.actions.shape == (EPISODES, T, N)
    # chi's belief depends on the history: it is not the same at every step
    assert (trajs[6].beliefs[:, 0] - trajs[6].beliefs[:, -1]).abs().max() > 1e-3


def test_same_seed_same_episodes_whatever_the_other_types(game_run: Path) -> None:
    module = load_game_module(game_run)
    torch.manual_seed(0)
    before = torch.rand(3)
    alone = belief_trajectories(game_run, [(2, 4)], episodes=EPISODES, seed=5)
    torch.manual_seed(0)
    with_others = belief_trajectories(module, [0, 1 + 2 * K + 3], episodes=EPISODES, seed=5)
    torch.testing.assert_close(torch.rand(3), before)  # the caller's generator is left alone
    z = 1 + 2 * K + 3
    torch.testing.assert_close(alone[z].beliefs, with_others[z].beliefs, rtol=0, atol=0)
    torch.testing.assert_close(alone[z].returns, with_others[z].returns, rtol=0, atol=0)
    other_seed = belief_trajectories(module, [z], episodes=EPISODES, seed=6)
    assert not torch.equal(other_seed[z].beliefs, alone[z].beliefs)


def test_test_time_settings_are_restored(game_run: Path) -> None:
    module = load_game_module(game_run)
    module.policy_input.teacher_forcing, module.joint.attack_prob = 0.7, 0.5  # as in training (Gen-Maxmin)
    seen = []

    class Spy(AlwaysZero):
        """Records, at every step it plays, the settings the team acts under."""

        def forward(self, td: TensorDictBase) -> TensorDictBase:
            seen.append((module.policy_input.teacher_forcing, module.joint.attack_prob))
            return super().forward(td)

    belief_trajectories(module, [(0, 1)], episodes=2, attack=Spy())
    assert len(seen) == T and set(seen) == {(0.0, 1.0)}  # chi's belief only, the victim attacked at every step
    assert (module.policy_input.teacher_forcing, module.joint.attack_prob) == (0.7, 0.5)  # restored


def test_an_attack_plays_the_victims_slot(game_run: Path) -> None:
    trajs = belief_trajectories(game_run, [0, (2, 1)], episodes=EPISODES, seed=1, attack=AlwaysZero())
    attacked = trajs[1 + 2 * K]
    assert attacked.label == "always-0 on victim 2" and trajs[0].label == "no attack"
    assert (attacked.actions[..., 2] == 0).all()  # every step of the victim is the attack's
    assert (attacked.actions[..., :2] != 0).any()  # the team still plays pi_omega
    assert (trajs[0].actions[..., 2] != 0).any()  # no attack: nobody's slot is taken
    psi = belief_trajectories(game_run, [(2, 1)], episodes=EPISODES, seed=1)[1 + 2 * K]
    assert (psi.actions[..., 2] != 0).any()  # without the attack, psi_1 acts there


def test_types_are_checked(game_run: Path) -> None:
    space = load_game_module(game_run).space
    assert resolve_type(space, (0, 1)) == 1 and resolve_type(space, (2, 4)) == 12 and resolve_type(space, 0) == 0
    with pytest.raises(ValueError, match="severity must lie in 1..K"):
        resolve_type(space, (0, 0))
    with pytest.raises(ValueError, match="type indices must lie in"):
        resolve_type(space, 13)
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        belief_trajectories(game_run, [0], episodes=0)
