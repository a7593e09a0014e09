"""The type draw (world split, per-episode types) and the joint policy's takeover of the victim's slot."""

from __future__ import annotations

import torch
from tensordict import TensorDict
from torchrl.envs import InitTracker
from torchrl.envs.utils import check_env_specs

from batpal.envs import make
from batpal.game import TypePrior, TypeSpace
from batpal.game.takeover import JointPolicy
from batpal.game.worlds import TypeAssignment
from batpal.nn.actor import AgentActorNet
from batpal.nn.adversary import AdversaryPopulation
from tests.game.biased import biased

N, K, OBS, A = 3, 4, 18, 5


def _env(num_envs: int = 8, seed: int = 0):
    space = TypeSpace(N, K)
    world = torch.tensor([1] * (num_envs // 2) + [0] * (num_envs - num_envs // 2))
    env = make("mpe_spread", num_envs, seed=seed)
    env.append_transform(InitTracker())
    env.append_transform(TypeAssignment(TypePrior.uniform(space).probs.float(), N, K, world, seed=seed))
    return env, world


def test_type_draw_passes_the_env_checks_and_is_constant_within_episodes():
    env, world = _env()
    check_env_specs(env)
    traj = env.rollout(120, break_when_any_done=False)  # [B, 120]: episodes of 50 steps
    z, start = traj["type"], traj["is_init"].squeeze(-1)
    for e in range(z.shape[0]):
        starts = start[e].nonzero().squeeze(-1).tolist() + [z.shape[1]]
        assert starts[0] == 0 and len(starts) == 4  # resets at 0, 50, 100
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            assert (z[e, a:b] == z[e, a]).all()
    assert (traj["world"] == world.unsqueeze(-1)).all()
    assert (z[world == 0] > 0).all()  # world 0 only hosts adversarial types
    space = TypeSpace(N, K)
    assert (traj["victim"] == space.victim_of(z)).all() and (traj["severity"] == space.severity_of(z)).all()


def test_same_seed_same_type_schedule_and_state_round_trip():
    a, _ = _env(seed=3)
    b, _ = _env(seed=3)
    assert torch.equal(
        a.rollout(60, break_when_any_done=False)["type"], b.rollout(60, break_when_any_done=False)["type"]
    )
    state = {k: v.clone() if torch.is_tensor(v) else v for k, v in a.transform.state_dict().items()}
    first = a.rollout(60, break_when_any_done=False)["type"]
    a.transform.load_state_dict(state)
    a.base_env.set_seed(0)
    again = a.rollout(60, break_when_any_done=False)["type"]
    assert torch.equal(first, again)


def test_fixed_type_mode_assigns_one_type_everywhere_but_keeps_world_zero_adversarial():
    env, world = _env()
    env.transform[-1].set_fixed_type(5)
    assert (env.reset()["type"] == 5).all()
    env.transform[-1].set_fixed_type(0)
    z = env.reset()["type"]
    assert (z[world == 1] == 0).all() and (z[world == 0] > 0).all()


def _joint(bias_omega: int, bias_pi0: int, bias_adv: int) -> JointPolicy:
    """Policies that deterministically pick one action each (a large bias on one logit)."""

    omega = biased(AgentActorNet(OBS + 13, N, A, (8,)), bias_omega)
    pi0 = biased(AgentActorNet(OBS, N, A, (8,)), bias_pi0)
    adversaries = AdversaryPopulation(OBS + N, A, K, (8,))
    for net in adversaries.nets:
        biased(net, bias_adv)
    return JointPolicy(omega, pi0, adversaries)


def test_victim_slot_holds_the_adversary_action_and_worlds_use_their_team_policy():
    joint = _joint(bias_omega=1, bias_pi0=2, bias_adv=4)
    b = 4
    obs = torch.randn(b, N, OBS)
    td = TensorDict(
        {
            "agents": TensorDict(
                {
                    "observation": obs,
                    "action_mask": torch.ones(b, N, A, dtype=torch.bool),
                    "policy_belief": torch.zeros(b, N, 13),
                },
                batch_size=[b, N],
            ),
            "type": torch.tensor([0, 1 + 1 * K + 2, 0, 1 + 2 * K]),  # benign, (v=1, k=3), benign, (v=2, k=1)
            "victim": torch.tensor([-1, 1, -1, 2]),
            "severity": torch.tensor([0, 3, 0, 1]),
            "world": torch.tensor([1, 1, 0, 0]),
        },
        batch_size=[b],
    )
    out = joint(td)
    actions = out["agents", "action"]
    assert actions[0].tolist() == [1, 1, 1]  # world 1, benign: pi_omega everywhere
    assert actions[1].tolist() == [1, 4, 1]  # world 1, victim 1 taken over
    assert actions[2].tolist() == [2, 2, 2]  # world 0 with z = 0 (not drawn in practice): pi0
    assert actions[3].tolist() == [2, 2, 4]  # world 0, victim 2 taken over
    # The adversary's stored input is exactly what it acted on: the victim's observation and its one-hot.
    assert torch.equal(out["adversary", "input"][1], torch.cat([obs[1, 1], torch.tensor([0.0, 1.0, 0.0])]))
    assert torch.equal(out["adversary", "input"][3], torch.cat([obs[3, 2], torch.tensor([0.0, 0.0, 1.0])]))
