"""One tiny finished BATPAL run (pretrain -> calibrate -> adversarial on MPE-Spread, K = 4) per test session,
shared by the analysis and notebook tests: the tiny pipeline of ``test_game_pipeline.py``, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from batpal.fit import fit
from tests.conftest import GAME, TINY, compose_config

_BUILT: dict[str, Path] = {}


def tiny_game_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory (config.yaml, summary.json, pi0.pt, defender.pt), trained on first use (~5 s)."""
    if "run" not in _BUILT:
        run_dir = tmp_path_factory.mktemp("tiny_game_run")
        fit(compose_config(["experiment=mpe_spread", *TINY, *GAME], run_dir))
        _BUILT["run"] = run_dir
    return _BUILT["run"]
