"""The typed schemas: every experiment's values reach every stage, a misspelt or mistyped key fails at composition."""

from __future__ import annotations

import dataclasses

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from batpal.config import FitConfig, GameConfig, PPOConfig, stage_ppo
from batpal.config.settings import game_config
from batpal.fit import fit
from tests.conftest import CONFIGS, compose_config

EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
SMAC = [name for name in EXPERIMENTS if name.startswith("smac_")]
GAME_STAGES = ("calibrate", "adversarial")


def _attack_config(experiment: str):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("attack", overrides=[f"experiment={experiment}", "defender=/nowhere", "run_dir=/tmp/x"])


@pytest.mark.parametrize("experiment", SMAC)
def test_smac_runs_the_authors_settings_in_every_stage(experiment):
    """Paper appendix E.2: lambda 0.1 on SMAC; the authors' clip 0.05, 5 epochs, 1 minibatch; Table 6 elsewhere."""
    cfg = compose_config([f"experiment={experiment}"])
    assert cfg.game.barrier_lambda == 0.1
    for stage in ("pretrain", *GAME_STAGES):
        ppo = stage_ppo(cfg, stage)
        assert (ppo.clip_epsilon, ppo.ppo_epochs, ppo.minibatches, ppo.gamma) == (0.05, 5, 1, 0.99), stage
        assert (ppo.actor_lr, ppo.critic_lr, ppo.rollout_steps) == (5e-4, 5e-4, 200), stage
    assert stage_ppo(cfg, "adversarial").entropy_coeff == 0.01
    assert stage_ppo(cfg, "calibrate").entropy_coeff == cfg.game.adversary_entropy_coeff == 0.001
    assert stage_ppo(_attack_config(experiment), "attack").clip_epsilon == 0.05


@pytest.mark.parametrize("experiment", ["mpe_spread", "lbf"])
def test_mpe_and_lbf_keep_their_pi0_settings_and_table6_in_the_game(experiment):
    cfg = compose_config([f"experiment={experiment}"])
    assert cfg.game.barrier_lambda == 0.2
    pre, cal, adv = (stage_ppo(cfg, s) for s in ("pretrain", *GAME_STAGES))
    assert (pre.actor_lr, pre.ppo_epochs, pre.rollout_steps) == (7e-4, 10, 25)
    # beta below alpha (issue 13's exploited MPE defender), LBF likewise
    assert (adv.actor_lr, adv.critic_lr, adv.ppo_epochs, adv.rollout_steps) == (1e-4, 5e-4, 5, 25)
    assert cfg.game.adversary_lr == 5e-4 >= adv.actor_lr
    assert (cal.actor_lr, cal.critic_lr) == (cfg.game.adversary_lr, 5e-4)
    if experiment == "mpe_spread":  # the harshest of 4 worst-case searches, 4 minibatches (issue 13's calibration)
        assert (cal.ppo_epochs, cal.minibatches, cfg.calibrate.candidates) == (10, 4, 4)
    else:
        assert cal.ppo_epochs == 5
    attack = stage_ppo(_attack_config(experiment), "attack")
    assert (attack.actor_lr, attack.ppo_epochs) == (pre.actor_lr, pre.ppo_epochs)  # the experiment's PPO


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_a_value_set_once_in_ppo_reaches_every_stage(experiment):
    cfg = compose_config([f"experiment={experiment}", "ppo.clip_epsilon=0.123", "ppo.max_grad_norm=3.5"])
    for stage in ("pretrain", *GAME_STAGES):
        assert (stage_ppo(cfg, stage).clip_epsilon, stage_ppo(cfg, stage).max_grad_norm) == (0.123, 3.5), stage
    only = compose_config([f"experiment={experiment}", "adversarial.ppo.clip_epsilon=0.3"])
    assert stage_ppo(only, "adversarial").clip_epsilon == 0.3 and stage_ppo(only, "pretrain").clip_epsilon != 0.3


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_resolves_to_the_schema(experiment):
    """The composed config is the schema's shape: every key of every node is a field of its dataclass."""
    cfg = compose_config([f"experiment={experiment}"], run_dir="/tmp/x")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert set(resolved) == {f.name for f in dataclasses.fields(FitConfig)}
    assert set(resolved["ppo"]) == {f.name for f in dataclasses.fields(PPOConfig)}
    assert set(resolved["game"]) == {f.name for f in dataclasses.fields(GameConfig)}
    assert isinstance(game_config(cfg), GameConfig)


@pytest.mark.parametrize("override", ["game.barrier_lambd=0.1", "ppo.clip=0.1", "adversarial.ppo.lr=1"])
def test_a_misspelt_key_fails_naming_it(override):
    key = override.split("=")[0]
    with pytest.raises(ConfigCompositionException) as err:
        compose_config(["experiment=mpe_spread", override])
    assert key in str(err.value) and key.split(".")[-1] in str(err.value.__cause__)


def test_a_misspelt_key_appended_with_plus_fails_validation(tmp_path):
    """Hydra lets ``+key=value`` past a typed node; the validator refuses it before any compute."""
    cfg = compose_config(["experiment=mpe_spread", "+game.barrier_lambd=0.1"], tmp_path / "run")
    with pytest.raises(ValueError, match="game.barrier_lambd"):
        fit(cfg)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("override", ["game.K=four", "ppo.gamma=high", "adversarial.frames=[1,2]"])
def test_a_mistyped_value_fails_naming_the_key(override):
    with pytest.raises(ConfigCompositionException) as err:
        compose_config(["experiment=mpe_spread", override])
    assert override.split("=")[0] in f"{err.value} {err.value.__cause__}"


def test_belief_source_true_from_the_command_line_is_the_string():
    cfg = compose_config(["experiment=mpe_spread", "game.belief_source=true"])
    assert game_config(cfg).belief_source == "true"


@pytest.mark.slow  # end to end
def test_cfg_job_resolve_shows_every_stage_s_clip_and_lambda_on_smac(tmp_path):
    """``python -m batpal.fit experiment=smac_mmm --cfg job --resolve`` (in a child of the session's zygote,
    ``tests/zygote.py``): lambda 0.1, clip 0.05 in every stage."""
    import yaml

    from tests.zygote import zygote

    args = ["experiment=smac_mmm", "--cfg", "job", "--resolve"]
    done = zygote().run("batpal.fit", args, tmp_path / "cfg.log", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = yaml.safe_load(done.stdout)
    assert printed["game"]["barrier_lambda"] == 0.1 and printed["ppo"]["clip_epsilon"] == 0.05
    assert all(printed[stage]["ppo"]["clip_epsilon"] == 0.05 for stage in ("pretrain", *GAME_STAGES))
