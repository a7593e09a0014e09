"""Baselines and ablations are configs of one module (configs/algo/): each trains end to end with its switches."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from batpal.artifacts import load_reference_policy
from batpal.attacks.trained import make_attack_net, save_attack
from batpal.config import GameConfig
from batpal.fit import fit
from batpal.game.takeover import JointPolicy
from batpal.modules.factory import load_game_module
from batpal.nn.actor import AgentActorNet
from batpal.nn.adversary import AdversaryPopulation
from batpal.objectives.ec_ppo import ec_ppo_loss
from tests.conftest import GAME, compose_config

EXPECTED = {  # method -> (stages, K, constrained, world-1 fraction, attack_prob, belief source)
    "batpal": (["pretrain", "calibrate", "adversarial"], 4, True, 0.5, 1.0, "belief"),
    "mappo": (["pretrain"], 4, True, 0.5, 1.0, "belief"),
    "eir_mappo": (["pretrain", "calibrate", "adversarial"], 1, False, 1.0, 1.0, "belief"),
    "gen_maxmin": (["pretrain", "calibrate", "adversarial"], 1, False, 1.0, 0.5, "none"),
    "rap": (["pretrain", "calibrate", "adversarial"], 4, False, 1.0, 1.0, "none"),
    "kt": (["pretrain", "calibrate", "adversarial"], 1, True, 1.0, 1.0, "true"),  # one known attack
}


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_each_algo_config_sets_its_switches(method):
    cfg = compose_config(["experiment=mpe_spread", f"algo={method}"])
    stages, K, constrained, fraction, q, source = EXPECTED[method]
    assert cfg.method == method and list(cfg.stages) == stages
    assert (cfg.game.K, cfg.game.constrained, cfg.game.world1_fraction) == (K, constrained, fraction)
    assert (cfg.game.attack_prob, cfg.game.belief_source) == (q, source)
    assert cfg.ppo.rollout_steps == 25  # the experiment's PPO settings still apply


def test_unknown_algo_lists_the_methods():
    with pytest.raises(Exception, match="gen_maxmin"):
        compose_config(["experiment=mpe_spread", "algo=maxmin"])


@pytest.mark.slow  # end to end
@pytest.mark.parametrize("method", ["eir_mappo", "gen_maxmin", "rap"])
def test_unconstrained_baselines_train_end_to_end(tiny_cfg, method):
    # game.constrained_adversary_lr is psi_k's alpha in BATPAL only: these worst cases keep game.adversary_lr
    cfg = tiny_cfg(*GAME, f"algo={method}", "stages=[pretrain,calibrate,adversarial]",
                   "game.constrained_adversary_lr=1e-3")
    summary = fit(cfg)
    K = EXPECTED[method][1]
    assert summary["adversarial"]["frames"] == 1600 and summary["adversarial"]["K"] == K
    module = load_game_module(cfg.run_dir)
    assert module.game.constrained is False and module.game.world1_fraction == 1.0
    assert _adversary_lrs(cfg.run_dir) == [cfg.game.adversary_lr] * K == [5e-4] * K
    metrics = (Path(cfg.run_dir) / "metrics" / "adversarial" / "metrics.csv").read_text().splitlines()[0]
    assert all(f"train/loss_adversary_{k}" in metrics for k in range(1, K + 1))


def test_gen_maxmin_adversary_acts_with_probability_q():
    torch.manual_seed(0)
    n, obs, act, b = 3, 4, 5, 4000
    omega, pi0 = AgentActorNet(obs + 2, n, act, (8,)), AgentActorNet(obs, n, act, (8,))
    joint = JointPolicy(omega, pi0, AdversaryPopulation(obs + n, act, 1, (8,)), attack_prob=0.5)
    from tensordict import TensorDict

    victim = torch.randint(0, n, (b,))
    td = TensorDict(
        {
            "agents": TensorDict(
                {
                    "observation": torch.randn(b, n, obs),
                    "action_mask": torch.ones(b, n, act, dtype=torch.bool),
                    "policy_belief": torch.zeros(b, n, 2),
                },
                batch_size=[b, n],
            ),
            "type": 1 + victim,
            "victim": victim,
            "severity": torch.ones(b, dtype=torch.long),
            "world": torch.ones(b, dtype=torch.long),
        },
        batch_size=[b],
    )
    out = joint(td)
    acted = out["adversary", "acted"]
    assert abs(acted.float().mean().item() - 0.5) < 0.03  # q = 0.5, 4000 draws
    slot = out["agents", "action"][torch.arange(b), victim]
    assert bool((slot[acted] == out["adversary", "action"][acted]).all())


def test_ec_pg_drops_the_ratio_clip():
    """EC-PG (game.ec_clip=false) passes clip_epsilon = inf: the world-1 term stays A * ratio far from ratio 1."""
    empty = torch.zeros(0)
    kwargs = dict(v0_hat=float("nan"), low=-1.0, high=1.0, lam=0.1, zeta=0.0)
    adv = torch.tensor([1.0, 2.0])
    for clip, value, grad in ((0.2, 0.8, 0.0), (float("inf"), None, None)):
        logp_new = torch.tensor([-1.0, -1.0], requires_grad=True)  # ratio e^-1 = 0.37, below 1 - 0.2
        loss = ec_ppo_loss(logp_new, torch.zeros(2), adv, empty, empty, clip_epsilon=clip, **kwargs).loss
        loss.backward()
        ratio = torch.exp(torch.tensor(-1.0))
        if value is not None:  # PPO: max(A r, A clip(r)) = 0.8 A, constant in psi
            torch.testing.assert_close(loss, (adv * value).mean())
            torch.testing.assert_close(logp_new.grad, torch.full((2,), grad))
        else:  # EC-PG: A r, gradient A r / M
            torch.testing.assert_close(loss, (adv * ratio).mean())
            torch.testing.assert_close(logp_new.grad, adv * ratio / 2)


def _fake_attack(run_dir: Path, path: Path, seed: int) -> Path:
    _, meta = load_reference_policy(run_dir / "pi0.pt")
    torch.manual_seed(seed)
    net = make_attack_net(meta["dims"], meta["hidden"], meta["activation"])
    path.mkdir()
    save_attack(
        path / "attack.pt",
        net,
        kind="act",
        env_name=meta["env"],
        dims=meta["dims"],
        hidden=meta["hidden"],
        activation=meta["activation"],
        c=0.0,
        defender=str(run_dir),
    )
    return path


@pytest.mark.slow  # end to end
def test_fixed_types_train_against_frozen_attacks(tiny_cfg, tmp_path):
    base = tiny_cfg(name="pi0")
    fit(base)
    attacks = [_fake_attack(Path(base.run_dir), tmp_path / f"attack{i}", i) for i in range(2)]
    cfg = tiny_cfg(
        *GAME,
        "algo=fixed_types",
        f"game.fixed_adversaries=[{attacks[0]},{attacks[1]}]",
        "game.K=2",
        "stages=[pretrain,calibrate,adversarial]",
        name="fixed",
    )
    summary = fit(cfg)
    assert summary["adversarial"]["K"] == 2  # K = the number of fixed attacks (checked before any compute)
    module = load_game_module(cfg.run_dir)
    for k, path in enumerate(attacks, start=1):
        saved = torch.load(path / "attack.pt", weights_only=True)["state_dict"]
        for name, value in module.adversaries.nets[k - 1].state_dict().items():
            torch.testing.assert_close(value, saved[name], rtol=0, atol=0)  # never trained
    assert not any(p.requires_grad for p in module.adversaries.parameters())


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        (["game.world1_fraction=1.0"], ValueError, "no world-0 envs"),
        (["game.attack_prob=0"], ValueError, "game.attack_prob must be in"),
        (["algo=fixed_types", "game.K=1", "game.fixed_adversaries=[/nonexistent]"], FileNotFoundError, "no attack.pt"),
    ],
)
def test_bad_variant_settings_fail_before_the_game(tiny_cfg, overrides, error, message):
    cfg = tiny_cfg(*GAME, "stages=[pretrain,calibrate,adversarial]", "game.vmax=-40", *overrides)
    with pytest.raises(error, match=message):
        fit(cfg)


def _adversary_lrs(run_dir: str | Path) -> list[float]:
    """The learning rate each adversary psi_k's Adam trained with (its optimizer state in the last checkpoint;
    the optimizers are omega, critics, belief, then psi_1..K)."""
    from batpal.safe_load import load_weights

    states = load_weights(Path(run_dir) / "checkpoints" / "last.ckpt", "checkpoint")["optimizer_states"]
    return [state["param_groups"][0]["lr"] for state in states[3:]]


def test_v0_smoothing_is_a_running_mean():
    """game.v0_smoothing=beta: V(0) <- beta V(0) + (1 - beta) V_hat(0) per (v, k); 0 leaves eq. 13 as it is."""
    from batpal.modules.batpal import BATPALModule

    module = BATPALModule.__new__(BATPALModule)  # only the smoothing state and the game config are needed here
    torch.nn.Module.__init__(module)
    module.game = GameConfig(v0_smoothing=0.75)
    module.v0_ema = {}
    assert module._smoothed({(0, 1): -40.0}) == {(0, 1): -40.0}  # first estimate taken as is
    out = module._smoothed({(0, 1): -60.0, (1, 2): -80.0})
    assert out == {(0, 1): pytest.approx(0.75 * -40.0 + 0.25 * -60.0), (1, 2): -80.0}
    module.game = GameConfig(v0_smoothing=0.0)
    assert module._smoothed({(0, 1): -10.0}) == {(0, 1): -10.0, (1, 2): -80.0}  # (1, 2): carried over


def test_a_batch_without_an_episode_start_keeps_the_latest_v0():
    """MPE's 50-step episodes, all envs resetting together, 25-step rollouts: every second batch has no world-0
    episode start, so eq. 13 gives nothing there; eq. 14 must still see the latest V_hat(0) (not the PPO term
    alone, which pushes psi_k harsher whatever its band)."""
    from batpal.modules.batpal import BATPALModule

    module = BATPALModule.__new__(BATPALModule)
    torch.nn.Module.__init__(module)
    module.game = GameConfig(v0_smoothing=0.0)
    module.v0_ema = {}
    assert module._smoothed({(0, 1): -40.0, (1, 1): -70.0}) == {(0, 1): -40.0, (1, 1): -70.0}
    assert module._smoothed({}) == {(0, 1): -40.0, (1, 1): -70.0}  # the odd batch: both carried over
    assert module._smoothed({(1, 1): -75.0}) == {(0, 1): -40.0, (1, 1): -75.0}


def test_v0_smoothing_out_of_range_fails(tiny_cfg):
    cfg = tiny_cfg(*GAME, "stages=[pretrain,calibrate,adversarial]", "game.vmax=-40", "game.v0_smoothing=1.0")
    with pytest.raises(ValueError, match="game.v0_smoothing must be in"):
        fit(cfg)
    assert not (Path(cfg.run_dir) / "pi0.pt").exists()  # refused before pretraining


def test_v0_smoothing_state_goes_into_the_checkpoint(tmp_path_factory):
    from tests.tiny_run import tiny_game_run

    run = tiny_game_run(tmp_path_factory)
    saved = load_game_module(run)
    saved.v0_ema = {(0, 1): -41.5, (2, 4): -97.25}
    checkpoint: dict = {}
    saved.on_save_checkpoint(checkpoint)
    restored = load_game_module(run)
    assert restored.v0_ema == {}
    restored.on_load_checkpoint(checkpoint)
    assert restored.v0_ema == saved.v0_ema


@pytest.mark.slow  # end to end
def test_belief_batch_trains_chi_on_that_share_of_world_one_histories(tiny_cfg, monkeypatch):
    """game.belief_batch=0.5: each belief step sees half of the world-1 envs' histories (of 25 steps, 3 agents)."""
    import batpal.modules.batpal as batpal_module

    shapes: list[tuple[int, ...]] = []
    original = batpal_module.belief_loss

    def spy(logits, *args, **kwargs):
        shapes.append(tuple(logits.shape))
        return original(logits, *args, **kwargs)

    monkeypatch.setattr(batpal_module, "belief_loss", spy)
    overrides = ["game.vmax=-40", "game.world1_fraction=0.5", "game.belief_batch=0.5"]
    fit(tiny_cfg(*GAME, *overrides))  # 16 envs: 8 in world 1
    assert shapes and all(shape[:3] == (4, 25, 3) for shape in shapes), shapes


@pytest.mark.parametrize("share", [0.0, 1.5])
def test_belief_batch_out_of_range_fails(tiny_cfg, share):
    cfg = tiny_cfg(*GAME, "stages=[pretrain,calibrate,adversarial]", "game.vmax=-40", f"game.belief_batch={share}")
    with pytest.raises(ValueError, match="game.belief_batch must be in"):
        fit(cfg)
    assert not (Path(cfg.run_dir) / "pi0.pt").exists()  # refused before pretraining


@pytest.mark.slow  # end to end
def test_several_minibatches_split_each_minibatch_into_loss_rows(tiny_cfg):
    """adversarial.ppo.minibatches=2: every loss's rows are selected per shuffled minibatch; every loss is logged."""
    cfg = tiny_cfg(*GAME, "game.vmax=-40", "adversarial.ppo.minibatches=2")
    summary = fit(cfg)
    assert summary["adversarial"]["frames"] == 1600
    header, *rows = (Path(cfg.run_dir) / "metrics" / "adversarial" / "metrics.csv").read_text().splitlines()
    names = header.split(",")
    for loss in ("train/loss_critic_1", "train/loss_critic_0", "train/loss_omega", "train/loss_adversary_1"):
        values = [float(r.split(",")[names.index(loss)]) for r in rows if r.split(",")[names.index(loss)]]
        assert values and all(math.isfinite(v) for v in values), loss


@pytest.mark.slow  # end to end
def test_v0_from_finished_episodes_trains_and_checkpoints_its_carry(tiny_cfg):
    """game.v0_estimate=episodes: eq. 14 reads V_hat(0) from finished world-0 episodes (no phi(0) in it), and the
    returns of episodes still running at a checkpoint go into it, so a resume goes on summing them."""
    from batpal.safe_load import load_weights

    cfg = tiny_cfg(*GAME, "stages=[pretrain,calibrate,adversarial]", "game.v0_estimate=episodes",
                   "ppo.rollout_steps=20", "adversarial.frames=1920", "adversarial.iters_per_epoch=3",
                   "game.constrained_adversary_lr=1e-3")
    summary = fit(cfg)
    assert summary["adversarial"]["frames"] == 1920
    assert _adversary_lrs(cfg.run_dir) == [1e-3] * 4  # psi_k's own alpha
    rows = (Path(cfg.run_dir) / "metrics" / "adversarial" / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    share = [i for i, name in enumerate(header) if name.endswith("/bootstrap_share")]
    severity = [i for i, name in enumerate(header) if name.startswith("train/severity/psi_")]
    values = [row.split(",") for row in rows[1:]]
    assert share and all(float(r[i]) == 0.0 for r in values for i in share if r[i])
    assert any(r[i] for r in values for i in severity)  # finished episodes gave V_hat(0) at some iteration
    state = load_weights(Path(cfg.run_dir) / "checkpoints" / "last.ckpt", "checkpoint")["rollout_state"]
    ret, disc, seen = state["v0_carry"]
    assert ret.shape == disc.shape == seen.shape == (8,)  # the world-0 half of 16 envs
    assert bool(seen.any())  # 60-step epochs, 50-step episodes: some episode runs on past the checkpoint
