"""alpha per adversary: ``game.constrained_adversary_lr`` moves BATPAL's psi_k only; the unconstrained worst cases
(EIR-MAPPO, Gen-Maxmin, RAP, calibrate) keep ``game.adversary_lr``."""

from __future__ import annotations

import pytest

from batpal.config import validate
from batpal.config.alpha import alpha
from tests.conftest import compose_config


@pytest.mark.parametrize(("algo", "expected"), [("batpal", 1e-4), ("kt", 1e-4), ("eir_mappo", 5e-4),
                                                ("gen_maxmin", 5e-4), ("rap", 5e-4)])
def test_constrained_adversaries_take_their_own_alpha(algo, expected):
    cfg = compose_config(["experiment=mpe_spread", f"algo={algo}", "game.constrained_adversary_lr=1e-4"])
    assert alpha(cfg.game) == expected
    assert cfg.calibrate.ppo.actor_lr == cfg.game.adversary_lr == 5e-4  # calibrate's worst case is unconstrained


def test_unset_it_is_adversary_lr():
    cfg = compose_config(["experiment=mpe_spread", "game.adversary_lr=7e-4"])
    assert cfg.game.constrained_adversary_lr is None and alpha(cfg.game) == 7e-4


def test_below_beta_warns_naming_it(tmp_path):
    cfg = compose_config(["experiment=mpe_spread", "game.constrained_adversary_lr=5e-5"], tmp_path)
    with pytest.warns(UserWarning, match=r"game.constrained_adversary_lr \(alpha=5e-05\) < adversarial.ppo.actor_lr"):
        validate(cfg)
