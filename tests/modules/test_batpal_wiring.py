"""``BATPALModule.update``'s wiring on hand-built batches: what a mix-up of masks, bands or rows would break
silently."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict

import batpal.modules.game as game_module
from batpal.artifacts import save_reference_policy
from batpal.config import EnvConfig, GameConfig, ModelConfig, PPOConfig
from batpal.game.value_zero import value_zero_by_type
from batpal.modules.batpal import BATPALModule
from batpal.modules.game import GameSetup
from batpal.modules.mappo import env_dims
from batpal.nn import make_actor

B, T, N = 4, 3, 3  # envs, steps, agents (MPE-Spread)
VMAX, VMIN = -10.0, [-50.0, -90.0, -130.0]  # a different band width per victim


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> BATPALModule:
    dims = env_dims("mpe_spread", 0)
    actor = make_actor([("agents", "observation")], dims["obs_dim"], N, dims["n_actions"], [16], "relu")
    path = tmp_path_factory.mktemp("pi0") / "pi0.pt"
    save_reference_policy(path, actor, "mpe_spread", dims, {"hidden": [16], "activation": "relu"})
    setup = GameSetup(
        EnvConfig(num_envs=B),
        PPOConfig(rollout_steps=T),
        GameConfig(K=2, zeta=1.0),
        ModelConfig(hidden=[16]),
        total_frames=100,
        iters_per_epoch=1,
        seed=0,
        reference_policy=str(path),
    )
    return BATPALModule(setup, VMAX, VMIN)


def _batch(module: BATPALModule, victim: list[int], k: list[int], world: list[int], acted: list[bool]) -> TensorDict:
    """[B, T]: one type per env, constant over time."""
    z = torch.tensor(
        [
            0 if kk == 0 else int(module.space.type_index(torch.tensor(v), torch.tensor(kk)))
            for v, kk in zip(victim, k, strict=True)
        ]
    )
    expand = lambda x: torch.as_tensor(x).unsqueeze(-1).expand(B, T).clone()  # noqa: E731
    return TensorDict(
        {
            "type": expand(z),
            "victim": expand(victim),
            "severity": expand(k),
            "world": expand(world),
            "adversary": TensorDict({"acted": expand(acted)}, batch_size=[B, T]),
        },
        batch_size=[B, T],
    )


def test_the_team_loss_excludes_the_victims_slot_only_where_the_adversary_acted(module, monkeypatch):
    # env 0: world 1, victim 1 taken over; env 1: world 1, victim 2 but the adversary did not act (Gen-Maxmin);
    # env 2: world 1, benign; env 3: world 0 (pi0 played, the team learns nothing there)
    batch = _batch(module, victim=[1, 2, 0, 0], k=[1, 2, 0, 1], world=[1, 1, 1, 0], acted=[True, False, False, True])
    world1 = batch["world"] == 1
    adv = torch.randn(B, T, 1)
    module._store_advantages(batch, adv, torch.zeros(B, T, 1), world1, [1, 2])
    mask = batch["team_mask"]  # [B, T, N]
    assert mask[0].tolist() == [[True, False, True]] * T
    assert mask[1].all() and mask[2].all() and not mask[3].any()
    # and the policy loss reads that mask: a huge loss on the masked slots leaves it unchanged
    loss_rows = mask.float() + 1000.0 * (~mask).float()  # 1 where the team played, 1000 elsewhere

    class FixedLoss(torch.nn.Module):  # per-slot MAPPO losses [rows, N], as MAPPOLoss(reduction="none") returns
        def forward(self, td):
            return {"loss_objective": loss_rows[world1], "loss_entropy": torch.zeros_like(loss_rows[world1])}

    monkeypatch.setattr(module, "omega_loss", FixedLoss())
    monkeypatch.setattr(module, "step", lambda opt, loss, name: None)
    team = batch.select("team_mask")[world1]
    team.set("agents", TensorDict({}, batch_size=team.shape))
    team.set("state", torch.zeros(*team.shape, 1))
    assert float(module.step_policy(team, None)["loss_omega"]) == 1.0


def test_adversary_advantages_are_standardised_over_each_psi_k_own_steps(module):
    batch = _batch(module, victim=[0, 1, 2, 0], k=[1, 2, 1, 2], world=[1, 1, 0, 0], acted=[True] * 4)
    world1 = batch["world"] == 1
    adv = torch.stack(
        [
            torch.tensor([1.0, 2, 3]),
            torch.tensor([100.0, 200, 300]),
            torch.tensor([-4.0, -8, -12]),
            torch.tensor([7.0, 7, 8]),
        ]
    ).unsqueeze(-1)  # [B, T, 1]
    module._store_advantages(batch, adv, torch.zeros(B, T, 1), world1, [1, 2])
    out = batch["adversary_advantage"]  # [B, T]
    for env in (0, 1):  # world 1: centred and scaled over psi_k's own world-1 steps (one env each here)
        torch.testing.assert_close(out[env], (adv[env, :, 0] - adv[env, :, 0].mean()) / adv[env, :, 0].std())
    for env in (2, 3):  # world 0: scaled, not centred (eq. 14 reads its sign)
        torch.testing.assert_close(out[env], adv[env, :, 0] / adv[env, :, 0].std())
    assert batch["adv_mask_1"][:2].all() and not batch["adv_mask_1"][2:].any()
    assert batch["adv_mask_0"][2:].all() and not batch["adv_mask_0"][:2].any()
    only_psi_2 = _batch(module, victim=[0, 1, 2, 0], k=[1, 2, 1, 2], world=[1, 1, 0, 0], acted=[True] * 4)
    module._store_advantages(only_psi_2, adv, torch.zeros(B, T, 1), world1, [2])  # psi_1 not drawn
    assert not only_psi_2["adversary_advantage"][[0, 2]].any() and not only_psi_2["adv_mask_1"][0].any()


def test_each_victims_band_and_v0_reach_psi_k_loss(module, monkeypatch):
    """Eq. 14 per victim v with its own band [l_v, h_v] (Vmin differs per victim) and its own V_hat(0)(v, k)."""
    seen: list[dict] = []
    original = game_module.ec_ppo

    def spy(*args, **kwargs):
        seen.append({"group": args[4].clone(), **{key: kwargs[key].clone() for key in ("v0_hat", "low", "high")}})
        return original(*args, **kwargs)

    monkeypatch.setattr(game_module, "ec_ppo", spy)
    monkeypatch.setattr(module, "step", lambda opt, loss, name: None)
    d, a = module.dims["obs_dim"] + N, module.dims["n_actions"]
    m = 6
    rows = {
        k: TensorDict(
            {
                "adversary": TensorDict(
                    {
                        "input": torch.randn(m, d),
                        "action_mask": torch.ones(m, a, dtype=torch.bool),
                        "action": torch.zeros(m, dtype=torch.long),
                        "log_prob": torch.zeros(m),
                    },
                    [m],
                ),
                "adversary_advantage": torch.randn(m),
                "adv_mask_1": torch.arange(m) % 2 == 0,
                "victim": torch.arange(m) % N,
            },
            [m],
        )
        for k in (1, 2)
    }
    v0 = {(0, 1): -15.0, (1, 1): -30.0, (2, 1): -45.0, (0, 2): -25.0, (2, 2): -70.0}  # no estimate for (1, 2)
    logs = module.step_adversaries(rows, v0, [None, None])
    assert len(seen) == 2 and {"loss_adversary_1", "loss_adversary_2"} <= set(logs)
    for k, call in zip((1, 2), seen, strict=True):
        torch.testing.assert_close(call["group"], rows[k]["victim"])
        for v in range(N):
            low, high = module.bands.interval(v, k)
            span = (VMAX - VMIN[v]) / 2
            assert (low, high) == pytest.approx((VMAX - k * span, VMAX - (k - 1) * span))
            assert (float(call["low"][v]), float(call["high"][v])) == pytest.approx((low, high))
            expected = v0.get((v, k), float("nan"))
            assert float(call["v0_hat"][v]) == pytest.approx(expected, nan_ok=True)
    assert any(key.startswith("ec_ppo/psi_1/") for key in logs)  # the diagnostics are logged


def test_v0_per_type_follows_each_envs_episodes_in_order(module):
    """Two episodes of different types in one env, and another env ending earlier: each type gets its own
    episodes' discounted returns (eq. 13), whatever the order in which the episodes end."""
    space = module.space
    z_a, z_b, z_c = (int(space.type_index(torch.tensor(v), torch.tensor(k))) for v, k in ((0, 1), (2, 2), (1, 1)))
    t = 4
    reward = torch.tensor([[1.0, 2.0, 10.0, 20.0], [5.0, 6.0, 7.0, 8.0]])
    done = torch.tensor([[False, True, False, True], [False, False, False, False]])
    start = torch.tensor([[True, False, True, False], [True, False, False, False]])
    types = torch.tensor([[z_a, z_a, z_b, z_b], [z_c, z_c, z_c, z_c]])
    batch = TensorDict(
        {
            "is_init": start.unsqueeze(-1),
            "type": types,
            "next": TensorDict(
                {"reward": reward.unsqueeze(-1), "done": done.unsqueeze(-1), "terminated": done.unsqueeze(-1)}, [2, t]
            ),
        },
        [2, t],
    )
    next_value = torch.full((2, t, 1), 100.0)
    g = 0.5
    out = value_zero_by_type(batch, next_value, torch.ones(2, t, dtype=torch.bool), space, g)
    assert out[(0, 1)] == pytest.approx(1.0 + g * 2.0)  # env 0, first episode, terminated
    assert out[(2, 2)] == pytest.approx(10.0 + g * 20.0)  # env 0, second episode
    assert out[(1, 1)] == pytest.approx(5 + g * 6 + g**2 * 7 + g**3 * 8 + g**4 * 100.0)  # cut: bootstraps
    assert set(out) == {(0, 1), (2, 2), (1, 1)}


def test_the_module_takes_k_from_one_place(module):
    assert module.K == module.space.K == module.bands.K == module.adversaries.K == 2
    assert len(module.configure_optimizers()) == 3 + module.K  # omega, critics, belief, then one per psi_k
