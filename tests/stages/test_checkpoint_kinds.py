"""A checkpoint of another stage kind is refused: fit takes no attack checkpoint, batpal.attack no fit one."""

from __future__ import annotations

import pytest

from batpal.attack import train_attack
from batpal.fit import fit
from tests.conftest import GAME, TINY, compose_config
from tests.stages.conftest import attack_config

pytestmark = pytest.mark.slow  # end-to-end runs (pipelines, CLI processes)


def test_an_attack_checkpoint_is_refused_by_fit_and_a_fit_checkpoint_by_attack(defender_runs, tmp_path):
    attack_dir = tmp_path / "attack"
    train_attack(attack_config("act", defender_runs["game"], attack_dir))
    cfg = compose_config(
        ["experiment=mpe_spread", *TINY, *GAME, f"ckpt_path={attack_dir / 'checkpoints' / 'last.ckpt'}"],
        tmp_path / "fit",
    )
    with pytest.raises(ValueError, match="written by a 'attack' stage"):
        fit(cfg)
    fit_ckpt = defender_runs["game"] / "checkpoints" / "last.ckpt"
    with pytest.raises(ValueError, match="written by a 'adversarial' stage"):
        train_attack(attack_config("act", defender_runs["game"], attack_dir, f"ckpt_path={fit_ckpt}"))
