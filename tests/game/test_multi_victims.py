"""Several victims (game.victims = m, appendix D.5): the type space over victim sets, the type draw, the joint
policy's takeover of every slot of the set by psi_k, the joint log-prob, and the sigmoid belief's width."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict
from torchrl.envs import InitTracker
from torchrl.envs.utils import check_env_specs

from batpal.envs import make
from batpal.game import BENIGN, Bands, TypePrior, TypeSpace
from batpal.game.takeover import JointPolicy
from batpal.game.worlds import TypeAssignment
from batpal.nn.actor import AgentActorNet
from batpal.nn.adversary import AdversaryPopulation
from batpal.nn.belief import belief_dim, make_belief
from batpal.objectives.belief import predicted_type
from tests.game.biased import biased

K = 4


def test_two_victims_of_three_agents():
    space = TypeSpace(3, K, victims=2)
    assert space.sets == ((0, 1), (0, 2), (1, 2)) and space.n_sets == 3
    assert space.size == 1 + 3 * K == 13
    assert space.members.tolist() == [[0, 1], [0, 2], [1, 2]]
    z = torch.arange(space.size)
    s, k = space.victim_of(z), space.severity_of(z)
    assert torch.equal(space.type_index(s, k), z)  # round trip over all of Z
    assert s.tolist() == [-1] + [0] * K + [1] * K + [2] * K
    assert int(space.type_index(space.set_index([2, 1]), 3)) == 1 + 2 * K + 2
    mask = space.victim_mask(s)  # [size, N]
    assert mask[0].tolist() == [False, False, False]  # benign: nobody taken over
    assert mask[1].tolist() == [True, True, False] and mask[1 + K].tolist() == [True, False, True]
    assert mask[1 + 2 * K].tolist() == [False, True, True]
    assert (mask[1:].sum(-1) == 2).all()


def test_two_victims_of_four_agents_index_sets_not_agents():
    space = TypeSpace(4, K, victims=2)
    assert space.n_sets == 6 and space.size == 1 + 6 * K == 25
    assert space.sets[3] == (1, 2) and space.set_index([3, 0]) == 2
    z = int(space.type_index(5, 2))  # set 5 = {2, 3}, severity 2
    assert z == 1 + 5 * K + 1 and int(space.victim_of(z)) == 5 and int(space.severity_of(z)) == 2
    assert space.victim_mask(torch.tensor([5, -1])).tolist() == [[False, False, True, True], [False] * 4]
    factored = space.factored(torch.tensor([BENIGN, z]))  # set one-hot ++ severity one-hot: [2, 6 + K]
    expected = torch.zeros(6 + K)
    expected[5], expected[6 + 1] = 1.0, 1.0
    assert torch.equal(factored[0], torch.zeros(6 + K)) and torch.equal(factored[1], expected)
    authors = TypePrior.authors(space, benign_prob=0.4).probs  # (1 - 0.4) / 6 sets / K bands each
    assert authors[0] == pytest.approx(0.4) and torch.allclose(authors[1:], torch.full((24,), 0.6 / 24).double())
    with pytest.raises(ValueError, match="victim must lie in 0..5"):
        space.type_index(6, 1)
    with pytest.raises(ValueError, match="not a set of 2 distinct agents"):
        space.set_index([1, 1])
    with pytest.raises(ValueError, match="at least one agent stays on the team"):
        TypeSpace(4, K, victims=4)


def test_single_victim_space_is_the_agent_indexed_one():
    space = TypeSpace(3, K)
    assert space.sets == ((0,), (1,), (2,)) and space.size == 13
    assert torch.equal(space.victim_mask(torch.tensor([1, -1])), torch.tensor([[False, True, False], [False] * 3]))


def test_bands_per_victim_set():
    space = TypeSpace(4, 2, victims=3)  # 4 sets of 3
    bands = Bands(-50.0, [-150.0, -250.0, -130.0, -90.0], 2, space.n_sets)
    assert bands.interval(1, 2) == pytest.approx((-250.0, -150.0))
    assert float(bands.severity(torch.tensor(-90.0), torch.tensor(3))) == pytest.approx(1.0)


def test_type_draw_writes_victim_set_indices():
    space = TypeSpace(4, 2, victims=2)
    env = make("mpe_spread", 8, seed=0, n_agents=4)
    env.append_transform(InitTracker())
    world = torch.tensor([1] * 4 + [0] * 4)
    env.append_transform(TypeAssignment(TypePrior.uniform(space).probs.float(), space.n_sets, 2, world, seed=3))
    check_env_specs(env)
    traj = env.rollout(120, break_when_any_done=False)
    z, s, k = traj["type"], traj["victim"], traj["severity"]
    assert torch.equal(s, space.victim_of(z)) and torch.equal(k, space.severity_of(z))
    assert int(s.max()) <= 5 and bool((s[world == 0] >= 0).all())
    assert len(set(z[:, 0].tolist() + z[:, 60].tolist() + z[:, 110].tolist())) > 3  # several types drawn


OBS, A = 6, 5


def _joint_td(space: TypeSpace, types: list[int], world: list[int], mask: torch.Tensor) -> TensorDict:
    n, b = space.n_agents, len(types)
    z = torch.tensor(types)
    return TensorDict(
        {
            "agents": TensorDict(
                {
                    "observation": torch.randn(b, n, OBS),
                    "action_mask": mask,
                    "policy_belief": torch.zeros(b, n, space.size),
                },
                batch_size=[b, n],
            ),
            "type": z,
            "victim": space.victim_of(z),
            "severity": space.severity_of(z),
            "world": torch.tensor(world),
        },
        batch_size=[b],
    )


def test_joint_policy_takes_over_every_slot_of_the_set_with_psi_k():
    torch.manual_seed(0)
    space = TypeSpace(4, 2, victims=2)  # sets (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
    omega = biased(AgentActorNet(OBS + space.size, 4, A, (8,)), 1)
    pi0 = biased(AgentActorNet(OBS, 4, A, (8,)), 2)
    adversaries = AdversaryPopulation(OBS + 4, A, 2, (8,))
    joint = JointPolicy(omega, pi0, adversaries, victim_sets=space.members)
    mask = torch.rand(5, 4, A) < 0.7
    mask[..., 1:3] = True  # the team's actions (1 and 2) stay legal; psi_k's are masked at random
    types = [0, int(space.type_index(5, 1)), int(space.type_index(0, 2)), int(space.type_index(3, 2)), 0]
    td = _joint_td(space, types, [1, 1, 0, 1, 0], mask)
    out = joint(td.clone())
    actions, adv_action = out["agents", "action"], out["adversary", "action"]
    obs = td["agents", "observation"]
    assert adv_action.shape == (5, 2) and out["adversary", "action_mask"].shape == (5, 2, A)
    assert out["adversary", "input"].shape == (5, 2, OBS + 4)
    assert actions[0].tolist() == [1, 1, 1, 1] and actions[4].tolist() == [2, 2, 2, 2]  # benign: the team
    expected_slots = {1: ([2, 3], 1), 2: ([0, 1], 2), 3: ([1, 2], 1)}  # env -> (victims, team action elsewhere)
    for env, (victims, team_action) in expected_slots.items():
        assert actions[env, victims].tolist() == adv_action[env].tolist()
        others = [a for a in range(4) if a not in victims]
        assert actions[env, others].tolist() == [team_action] * 2
        for j, agent in enumerate(victims):  # psi_k's input: the victim's own observation ++ its one-hot
            one_hot = torch.nn.functional.one_hot(torch.tensor(agent), 4).float()
            assert torch.equal(out["adversary", "input"][env, j], torch.cat([obs[env, agent], one_hot]))
            assert torch.equal(out["adversary", "action_mask"][env, j], mask[env, agent])
            assert bool(mask[env, agent, adv_action[env, j]])  # only legal actions
    assert out["adversary", "acted"].tolist() == [False, True, True, True, False]


def test_adversary_log_prob_is_the_sum_over_its_victims():
    torch.manual_seed(1)
    space = TypeSpace(3, 2, victims=2)
    omega, pi0 = AgentActorNet(OBS + space.size, 3, A, (8,)), AgentActorNet(OBS, 3, A, (8,))
    adversaries = AdversaryPopulation(OBS + 3, A, 2, (16,))
    joint = JointPolicy(omega, pi0, adversaries, victim_sets=space.members)
    mask = torch.rand(6, 3, A) < 0.6
    mask[..., 0] = True
    types = [int(space.type_index(s, k)) for s, k in ((0, 1), (1, 2), (2, 1), (2, 2), (0, 2), (1, 1))]
    out = joint(_joint_td(space, types, [1, 0, 1, 0, 1, 0], mask))
    stored = out["adversary", "log_prob"]  # [B] the joint log-prob
    assert stored.shape == (6,)
    for env, z in enumerate(types):
        k = int(space.severity_of(z))
        logits = adversaries.logits_of(k, out["adversary", "input"][env])  # [2, A] psi_k on each victim
        logp = logits.masked_fill(~out["adversary", "action_mask"][env], float("-inf")).log_softmax(-1)
        per_victim = logp.gather(-1, out["adversary", "action"][env].unsqueeze(-1)).squeeze(-1)  # [2]
        assert bool((per_victim < 0).all())
        torch.testing.assert_close(stored[env], per_victim.sum())


def test_sigmoid_belief_is_victim_set_plus_severity():
    space = TypeSpace(4, 3, victims=2)  # 6 sets
    assert belief_dim(4, space.size, "sigmoid", n_sets=space.n_sets) == 6 + 3
    assert belief_dim(4, space.size, "softmax", n_sets=space.n_sets) == 1 + 6 * 3
    assert make_belief(4, OBS, A, space.size, "sigmoid", 8, n_sets=space.n_sets).out_dim == 9
    z = torch.tensor([0, int(space.type_index(4, 3)), int(space.type_index(1, 1))])
    belief = space.factored(z).unsqueeze(-2).expand(3, 4, -1)  # [3, N, 9] the targets as beliefs
    assert torch.equal(predicted_type(belief, "sigmoid", n_sets=space.n_sets), z.unsqueeze(-1).expand(3, 4))
