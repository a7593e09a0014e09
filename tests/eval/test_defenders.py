"""Defenders from run dirs: their kind, env facts, labels, and clear errors for unfinished run dirs."""

from __future__ import annotations

import shutil

import pytest
from omegaconf import OmegaConf

from batpal.eval.defenders import GameDefender, ReferenceDefender, load_defender
from tests.eval.conftest import copy_run


def test_load_defender_kinds_and_facts(game_run, mappo_run):
    game, ref = load_defender(game_run), load_defender(mappo_run)
    assert isinstance(game, GameDefender) and game.name == "BATPAL" and game.K == 4
    assert isinstance(ref, ReferenceDefender) and ref.name == "MAPPO"
    for d in (game, ref):
        assert d.env_name == "mpe_spread" and d.env_kwargs == {}
        assert d.dims == {"n_agents": 3, "obs_dim": 18, "n_actions": 5, "state_dim": 54}
        assert d.max_episode_steps == 50 and d.gamma == pytest.approx(0.99)
        assert not any(p.requires_grad for p in d.reference_policy().parameters())
    assert load_defender(mappo_run, "pi0 team").name == "pi0 team"
    assert game.module.policy_input.teacher_forcing == 0.0


def test_load_defender_errors_name_dir_and_file(tmp_path, mappo_run):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_defender(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(mappo_run / "config.yaml", empty / "config.yaml")
    shutil.copy(mappo_run / "summary.json", empty / "summary.json")
    with pytest.raises(FileNotFoundError, match=rf"{empty} has no pi0\.pt"):
        load_defender(empty)
    (empty / "config.yaml").unlink()
    with pytest.raises(FileNotFoundError, match=r"has no config\.yaml"):
        load_defender(empty)


@pytest.mark.parametrize(
    ("method", "label"),
    [("batpal", "BATPAL"), ("eir_mappo", "EIR-MAPPO"), ("gen_maxmin", "Gen-Maxmin"), ("fixed_types", "Fixed Types")],
)
def test_a_batpal_family_run_is_labelled_by_its_method(game_run, tmp_path, method, label):
    run = copy_run(game_run, tmp_path / method, method=method)
    defender = load_defender(run)
    assert isinstance(defender, GameDefender) and defender.name == label


def test_a_run_without_the_adversarial_stage_is_mappo_whatever_its_method(game_run, mappo_run, tmp_path):
    assert load_defender(mappo_run).name == "MAPPO"  # method mappo, stages [pretrain]
    # method batpal but stopped by design after pretrain (stages [pretrain]): its team is pi0, so MAPPO, even though
    # the copied run still holds the BATPAL run's defender.pt
    pretrain_only = copy_run(game_run, tmp_path / "pretrain_only", stages=["pretrain"])
    assert OmegaConf.load(pretrain_only / "config.yaml").method == "batpal"
    defender = load_defender(pretrain_only)
    assert isinstance(defender, ReferenceDefender) and defender.name == "MAPPO"
    eir = copy_run(mappo_run, tmp_path / "eir", method="eir_mappo")
    assert load_defender(eir).name == "MAPPO"


def test_an_unfinished_run_is_refused_naming_the_dir_and_missing_stages(game_run, tmp_path):
    interrupted = copy_run(game_run, tmp_path / "interrupted", done=["pretrain"])  # killed during calibrate
    expected = (
        rf"defender run {interrupted} is unfinished: it has not finished stage\(s\) \['calibrate', 'adversarial'\] "
        r"of its stages \['pretrain', 'calibrate', 'adversarial'\] \(not in its summary\.json\)"
    )
    with pytest.raises(ValueError, match=expected):
        load_defender(interrupted)
    (interrupted / "defender.pt").unlink()  # as a real interrupted run: no defender.pt yet
    with pytest.raises(ValueError, match=expected):
        load_defender(interrupted)  # never evaluated as its pi0 (MAPPO)
    (interrupted / "summary.json").unlink()  # killed during pretrain, after pi0.pt was written
    with pytest.raises(ValueError, match=r"has not finished stage\(s\) \['pretrain', 'calibrate', 'adversarial'\]"):
        load_defender(interrupted)


def test_a_batpal_run_without_defender_pt_is_refused(game_run, tmp_path):
    run = copy_run(game_run, tmp_path / "no_weights", drop=["defender.pt"])
    with pytest.raises(
        FileNotFoundError, match=rf"defender run {run} ran the adversarial stage .* has no defender\.pt"
    ):
        load_defender(run)


def test_odd_configs_are_refused(game_run, tmp_path):
    no_stages = copy_run(game_run, tmp_path / "no_stages")
    cfg = OmegaConf.load(no_stages / "config.yaml")
    del cfg["stages"]
    OmegaConf.save(cfg, no_stages / "config.yaml")
    with pytest.raises(ValueError, match=rf"{no_stages}: its config\.yaml has no stages list"):
        load_defender(no_stages)
    mislabelled = copy_run(game_run, tmp_path / "mislabelled", method="mappo")
    with pytest.raises(ValueError, match="says method mappo but ran the adversarial stage"):
        load_defender(mislabelled)
    assert load_defender(mislabelled, "mine").name == "mine"  # an explicit label is the user's word
