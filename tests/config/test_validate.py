"""The validator: every invalid setting fails before any stage starts or pretrain writes anything, naming its key."""

from __future__ import annotations

import pytest

import batpal.stages
from batpal.fit import fit
from tests.conftest import TINY, compose_config

BAD = [  # override, the key the error must name
    ("game.K=0", "game.K"),
    ("calibrate.candidates=0", "calibrate.candidates"),
    ("game.victims=0", "game.victims"),
    ("game.victims=3", "game.victims"),  # MPE-Spread has 3 agents: one must stay on the team
    ("game.zeta=-1", "game.zeta"),
    ("game.prior=adaptive", "game.prior"),
    ("game.benign_prob=1.0", "game.benign_prob"),
    ("game.belief_mode=tanh", "game.belief_mode"),
    ("game.belief_source=oracle", "game.belief_source"),
    ("game.adversary_updates=some", "game.adversary_updates"),
    ("game.v0_estimate=critic", "game.v0_estimate"),
    ("game.world1_fraction=0", "game.world1_fraction"),
    ("game.world1_fraction=1.5", "game.world1_fraction"),
    ("game.barrier_lambda=0", "game.barrier_lambda"),
    ("game.attack_prob=0", "game.attack_prob"),
    ("game.belief_batch=0", "game.belief_batch"),
    ("game.belief_batch=1.5", "game.belief_batch"),
    ("game.v0_smoothing=1", "game.v0_smoothing"),
    ("game.teacher_forcing_until=2", "game.teacher_forcing_until"),
    ("game.adversary_lr=0", "game.adversary_lr"),
    ("game.constrained_adversary_lr=-1e-4", "game.constrained_adversary_lr"),
    ("game.belief_lr=-1", "game.belief_lr"),
    ("game.belief_hidden=0", "game.belief_hidden"),
    ("game.vmin=[-100,-90]", "game.vmin"),  # 3 victims: one number or three
    ("game.vmin=[]", "game.vmin"),
    ("game.fixed_adversaries=[a,b]", "game.K"),  # K must be their number
    ("ppo.gamma=1.0", "ppo.gamma"),
    ("ppo.gamma=0", "ppo.gamma"),
    ("ppo.gae_lambda=1.5", "ppo.gae_lambda"),
    ("ppo.ppo_epochs=0", "ppo.ppo_epochs"),
    ("ppo.minibatches=0", "ppo.minibatches"),
    ("ppo.clip_epsilon=0", "ppo.clip_epsilon"),
    ("ppo.actor_lr=0", "ppo.actor_lr"),
    ("ppo.max_grad_norm=0", "ppo.max_grad_norm"),
    ("ppo.entropy_coeff=-0.1", "ppo.entropy_coeff"),
    ("adversarial.ppo.ppo_epochs=0", "adversarial.ppo.ppo_epochs"),
    ("calibrate.ppo.critic_lr=0", "calibrate.ppo.critic_lr"),
    ("pretrain.ppo.clip_epsilon=-1", "pretrain.ppo.clip_epsilon"),
    ("adversarial.frames=0", "adversarial.frames"),
    ("calibrate.eval_episodes=0", "calibrate.eval_episodes"),
    ("pretrain.iters_per_epoch=0", "pretrain.iters_per_epoch"),
    ("seed=-1", "seed"),
    ("env.max_episode_steps=0", "env.max_episode_steps"),
    ("model.hidden=[]", "model.hidden"),
    ("model.activation=gelu", "model.activation"),
    ("method=maxmin", "method"),
    ("stages=[pretrian]", "stages"),
]


@pytest.mark.parametrize(("override", "key"), BAD, ids=[b[0] for b in BAD])
def test_an_invalid_setting_fails_before_any_compute_naming_its_key(tmp_path, monkeypatch, override, key):
    cfg = compose_config(
        ["experiment=mpe_spread", *TINY, "stages=[pretrain,calibrate,adversarial]", override], tmp_path / "run"
    )

    def compute(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stage started before the bad setting was refused")

    for stage in ("run_pretrain", "run_calibrate", "run_adversarial"):  # fit imports them from here when it runs
        monkeypatch.setattr(batpal.stages, stage, compute)
    with pytest.raises(ValueError) as err:
        fit(cfg)
    assert key in str(err.value), str(err.value)
    assert not (tmp_path / "run").exists()  # nothing written: no config.yaml, no pi0.pt


def test_zeta_at_least_half_a_band_fails_whatever_the_calibration_finds(tmp_path):
    """Eq. 14's interior [l + zeta, h - zeta] is empty when zeta >= 1 / (2 K) on the severity scale; no Vmin is
    needed to know it, so the check runs before pretrain even with calibrated bands."""
    ok = ["experiment=mpe_spread", *TINY, "game.K=4"]  # half a band: 0.125
    fit_cfg = compose_config([*ok, "game.zeta=0.125"], tmp_path / "run")
    with pytest.raises(ValueError, match=r"game.zeta=0.125 must be smaller than half a band, 1/\(2K\) = 0.125"):
        fit(fit_cfg)
    assert not (tmp_path / "run").exists()
    from batpal.config import validate

    validate(compose_config([*ok, "game.zeta=0.124"], tmp_path / "ok"))


def test_world1_fraction_one_needs_an_unconstrained_method(tmp_path):
    cfg = compose_config(
        ["experiment=mpe_spread", *TINY, "stages=[pretrain,calibrate,adversarial]", "game.world1_fraction=1.0"],
        tmp_path / "run",
    )
    with pytest.raises(ValueError, match="world1_fraction=1 leaves no world-0 envs"):
        fit(cfg)


def test_alpha_below_beta_warns(tmp_path):
    from batpal.config import validate

    cfg = compose_config(["experiment=mpe_spread", "game.adversary_lr=1e-4", "adversarial.ppo.actor_lr=5e-4"], tmp_path)
    with pytest.warns(UserWarning, match="two-timescale"):
        validate(cfg)
