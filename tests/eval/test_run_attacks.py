"""Attacks taken from runs: severity_k (psi_k), a_<baseline> (its psi_1), and the env check of trained attacks."""

from __future__ import annotations

import pytest
import torch

from batpal.attacks import make_attack
from batpal.eval.defenders import load_defender
from batpal.nn.adversary import adversary_input
from tests.attacks.test_user_and_trained import _save_attack


@pytest.fixture(scope="module")
def defenders(game_run, mappo_run):
    return [load_defender(mappo_run), load_defender(game_run)]


def test_severity_k_is_psi_k_of_the_first_batpal_defender(defenders, game_run):
    x = adversary_input(torch.randn(6, 3, 18), torch.tensor([0, 1, 2, 0, 1, 2]), 3)
    psi = defenders[1].module.adversaries
    for k in (1, 4):
        attack = make_attack(f"severity_{k}", defenders)
        assert attack.label == f"Severity {k}"
        assert torch.equal(attack.net(x), psi.logits_of(k, x))
    qualified = make_attack(f"severity_2@{game_run}", defenders[:1])  # the MAPPO defender alone: named run
    assert qualified.label == "Severity 2 (BATPAL)" and torch.equal(qualified.net(x), psi.logits_of(2, x))
    with pytest.raises(ValueError, match=r"K = 4 adversaries \(severity_1..4\)"):
        make_attack("severity_5", defenders)


def test_baseline_adversary_is_its_psi_1(defenders, game_run, mappo_run):
    x = adversary_input(torch.randn(3, 3, 18), torch.tensor([0, 1, 2]), 3)
    attack = make_attack("a_BATPAL", defenders)
    assert attack.label == "A-BATPAL" and torch.equal(attack.net(x), defenders[1].module.adversaries.logits_of(1, x))
    assert make_attack(f"a_{game_run}", []).label == "A-BATPAL"
    with pytest.raises(ValueError, match="defender MAPPO .* trains no adversary"):
        make_attack("a_MAPPO", defenders)
    with pytest.raises(ValueError, match="has no defender.pt"):
        make_attack(f"severity_1@{mappo_run}", defenders)


def test_trained_attack_must_match_the_defenders_env(defenders, tmp_path):
    _save_attack(tmp_path / "lbf", env="lbf")
    with pytest.raises(ValueError, match="trained on 'lbf', the defenders play 'mpe_spread'"):
        make_attack(str(tmp_path / "lbf"), defenders)
