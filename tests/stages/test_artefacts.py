"""Every file a tiny real run writes is plain data: it loads with ``torch.load(weights_only=True)``, and no temporary
file of the atomic writes is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from batpal.safe_load import check_plain
from batpal.stages.attack import train_attack
from tests.stages.conftest import attack_config

pytestmark = pytest.mark.slow  # end-to-end runs (pipelines, CLI processes)


def _no_pickled_bytes(state: dict, where: str) -> None:
    """The rollout state holds the env and transforms' states as containers, not a uint8 tensor of pickled bytes."""
    rollout = state["rollout_state"]
    assert isinstance(rollout["sim"], dict), where
    assert isinstance(rollout["transforms"], dict), where


def test_every_artefact_and_checkpoint_loads_with_weights_only(defender_runs: dict[str, Path], tmp_path: Path):
    game = defender_runs["game"]
    attack_dir = tmp_path / "act"
    train_attack(attack_config("act", game, attack_dir))

    for path in (game / "pi0.pt", game / "calibration_adversary.pt", game / "defender.pt", attack_dir / "attack.pt"):
        check_plain(torch.load(path, map_location="cpu", weights_only=True), path.name)
    for path in (game / "checkpoints" / "last.ckpt", attack_dir / "checkpoints" / "last.ckpt"):
        _no_pickled_bytes(torch.load(path, map_location="cpu", weights_only=True), str(path))

    attack = torch.load(attack_dir / "attack.pt", weights_only=True)
    assert isinstance(attack["defender"], str) and attack["defender"] == str(game.resolve())
    for run_dir in (game, attack_dir):
        assert not [p.name for p in run_dir.rglob("*.tmp")], run_dir
