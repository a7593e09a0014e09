"""chi (section 4.2): shapes, probabilities, resets, and step mode (rollout) == sequence mode (training)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tensordict import TensorDict
from tensordict.nn import TensorDictModule, TensorDictSequential
from torchrl.envs import InitTracker
from torchrl.envs.utils import check_env_specs

from batpal.nn.belief import BELIEF, BELIEF_LOGITS, BELIEF_STATE, NEXT_BELIEF_STATE, make_belief

B, N, OBS, A, K, H = 3, 2, 5, 4, 2, 16
Z = 1 + N * K
DIMS = {"softmax": Z, "sigmoid": N + K}


def _inputs(batch: tuple[int, ...], seed: int = 0) -> TensorDict:
    """Random observations and previous actions for ``batch`` (= [B] or [B, T]); no episode starts."""
    g = torch.Generator().manual_seed(seed)
    prev = F.one_hot(torch.randint(0, A, (*batch, N), generator=g), A).float()  # [.., N, A]
    agents = {"observation": torch.randn(*batch, N, OBS, generator=g), "prev_action": prev}
    return TensorDict({"agents": agents, "is_init": torch.zeros(*batch, 1, dtype=torch.bool)}, batch_size=batch)


@pytest.mark.parametrize("mode", ["softmax", "sigmoid"])
def test_shapes_and_probabilities_in_both_modes(mode):
    torch.manual_seed(0)
    step = make_belief(N, OBS, A, Z, mode=mode, hidden=H, mlp_layers=2)
    td = step(_inputs((B,)))
    assert td[BELIEF].shape == td[BELIEF_LOGITS].shape == (B, N, DIMS[mode])
    assert td[NEXT_BELIEF_STATE].shape == (B, N, 1, H)
    seq = step.sequence_module()
    out = seq(_inputs((B, 7)))
    belief = out[BELIEF]
    assert belief.shape == (B, 7, N, DIMS[mode])
    assert NEXT_BELIEF_STATE not in out.keys(True)
    if mode == "softmax":
        torch.testing.assert_close(belief.sum(-1), torch.ones(B, 7, N))
    assert ((belief > 0) & (belief < 1)).all()


def test_step_and_sequence_views_share_parameters():
    step = make_belief(N, OBS, A, Z, hidden=H)
    seq = step.sequence_module()
    assert [id(p) for p in step.parameters()] == [id(p) for p in seq.parameters()]
    assert seq.step_module().state_dict().keys() == step.state_dict().keys()


@pytest.mark.parametrize("mode", ["softmax", "sigmoid"])
def test_step_mode_over_time_reproduces_sequence_mode_with_resets(mode):
    """What training recomputes on a [B, T] batch equals what the collector saw, step by step."""
    torch.manual_seed(0)
    step = make_belief(N, OBS, A, Z, mode=mode, hidden=H)
    T = 2 * 9
    data = _inputs((B, T), seed=1)
    is_init = torch.zeros(B, T, dtype=torch.bool)
    is_init[:, 0] = True
    is_init[0, 5] = is_init[2, 3] = is_init[2, 13] = True  # resets in the middle of the sequences
    is_init[1, 9] = True  # a reset exactly at the start of the second batch
    data["is_init"] = is_init.unsqueeze(-1)
    data["agents", "prev_action"][is_init] = 0.0

    state = torch.zeros(B, N, 1, H)
    rows = []
    with torch.no_grad():
        for t in range(T):
            # The stored state at an episode start is the previous episode's (not zeroed): chi must reset it.
            td = data[:, t].clone().set(BELIEF_STATE, state)
            step(td)
            state = td[NEXT_BELIEF_STATE]
            rows.append(td)
    rollout = torch.stack(rows, dim=1)  # [B, T]

    seq = step.sequence_module()
    for half in (rollout[:, :9], rollout[:, 9:]):  # two collector batches: the second continues the first
        out = seq(half.exclude(BELIEF, BELIEF_LOGITS).clone())
        torch.testing.assert_close(out[BELIEF_LOGITS], half[BELIEF_LOGITS], atol=1e-6, rtol=0)
        torch.testing.assert_close(out[BELIEF], half[BELIEF], atol=1e-6, rtol=0)


def test_reset_zeroes_the_hidden_state():
    torch.manual_seed(0)
    step = make_belief(N, OBS, A, Z, hidden=H)
    td = _inputs((B,), seed=2)
    state = torch.zeros(B, N, 1, H)
    with torch.no_grad():
        for t in range(4):  # build up a non-zero history
            out = step(_inputs((B,), seed=10 + t).set(BELIEF_STATE, state))
            state = out[NEXT_BELIEF_STATE]
        assert state.abs().max() > 0
        continued = step(td.clone().set(BELIEF_STATE, state))[BELIEF]
        reset = step(td.clone().set(BELIEF_STATE, state).set("is_init", torch.ones(B, 1, dtype=torch.bool)))
        fresh = step(td.clone().set("is_init", torch.ones(B, 1, dtype=torch.bool)))  # no state at all
    torch.testing.assert_close(reset[BELIEF], fresh[BELIEF], atol=0, rtol=0)
    torch.testing.assert_close(reset[NEXT_BELIEF_STATE], fresh[NEXT_BELIEF_STATE], atol=0, rtol=0)
    assert not torch.allclose(continued, reset[BELIEF])


def test_real_env_rollout_writes_beliefs_that_training_recomputes():
    from batpal.envs import make

    env = make("mpe_spread", 4, seed=0)
    n, obs_dim = env.observation_spec["agents", "observation"].shape[-2:]
    n_actions = env.full_action_spec["agents", "action"].space.n
    belief = make_belief(n, obs_dim, n_actions, 1 + n * K, hidden=H)
    env.append_transform(InitTracker())
    env.append_transform(belief.primer())
    check_env_specs(env, seed=0)

    g = torch.Generator().manual_seed(0)
    random_actions = TensorDictModule(
        lambda mask: torch.randint(0, mask.shape[-1], mask.shape[:-1], generator=g),
        in_keys=[("agents", "action_mask")],
        out_keys=[("agents", "action")],
    )
    with torch.no_grad():
        data = env.rollout(60, policy=TensorDictSequential(belief, random_actions), break_when_any_done=False)

    assert data[BELIEF].shape == (4, 60, n, 1 + n * K)
    is_init = data["is_init"].squeeze(-1)  # [B, T]
    assert is_init[:, 0].all() and is_init[:, 1:].any()  # episodes restart inside the rollout
    prev = data["agents", "prev_action"]  # [B, T, N, A]
    assert (prev[is_init] == 0).all() and (data[BELIEF_STATE][is_init] == 0).all()
    expected = F.one_hot(data["agents", "action"][:, :-1], n_actions).float()  # [B, T - 1, N, A]
    assert torch.equal(prev[:, 1:][~is_init[:, 1:]], expected[~is_init[:, 1:]])
    with torch.no_grad():
        again = belief.sequence_module()(data.exclude(BELIEF, BELIEF_LOGITS).clone())
    torch.testing.assert_close(again[BELIEF], data[BELIEF], atol=1e-6, rtol=0)
