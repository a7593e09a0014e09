"""Defenders from run dirs: their kind, env facts, labels, and clear errors for unfinished run dirs."""

from __future__ import annotations

import shutil

import pytest
from omegaconf import OmegaConf

from batpal.eval.defenders import GameDefender, ReferenceDefender, load_defender


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
    with pytest.raises(FileNotFoundError, match=rf"{empty} has no pi0\.pt"):
        load_defender(empty)
    (empty / "config.yaml").unlink()
    with pytest.raises(FileNotFoundError, match=r"has no config\.yaml"):
        load_defender(empty)


def test_label_is_the_runs_method_in_the_papers_spelling(game_run, mappo_run, tmp_path):
    for source, name in ((game_run, "eir"), (mappo_run, "pi0")):
        copy = tmp_path / name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("checkpoints", "metrics", "tensorboard"))
        cfg = OmegaConf.load(copy / "config.yaml")
        cfg.method = "eir_mappo"
        OmegaConf.save(cfg, copy / "config.yaml")
    assert load_defender(tmp_path / "eir").name == "EIR-MAPPO"
    assert load_defender(tmp_path / "pi0").name == "MAPPO"  # no defender.pt: the team is pi0 whatever the method
