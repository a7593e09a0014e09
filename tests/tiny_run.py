"""Tiny finished BATPAL runs (pretrain -> calibrate -> adversarial on MPE-Spread), each trained once per test
session on first use and then only read (a test that writes copies it first):

- ``tiny_game_run``: K = 4, the tiny pipeline of ``tests/stages/test_pipeline.py``; shared by the analysis,
  notebook, evaluate, resume and stage tests.
- ``tiny_multi_run``: game.victims = 2 on 4-agent MPE-Spread (``MULTI``, the default softmax belief); shared by
  ``tests/stages/test_multi_victims.py`` and ``tests/eval/test_multi_victims.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batpal.fit import fit
from tests.conftest import GAME, TINY, compose_config

MULTI = [*GAME, "+env.kwargs.n_agents=4", "game.victims=2", "game.K=2"]

_BUILT: dict[str, tuple[Path, dict[str, Any]]] = {}


def _built(name: str, overrides: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The run directory (``<name>N/batpal``: evaluations label a repeated defender by its folder) and what ``fit``
    returned, trained on first use."""
    if name not in _BUILT:
        run_dir = tmp_path_factory.mktemp(name) / "batpal"
        summary = fit(compose_config(["experiment=mpe_spread", *TINY, *overrides], run_dir))
        _BUILT[name] = (run_dir, summary)
    return _BUILT[name]


def tiny_game_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory (config.yaml, summary.json, pi0.pt, defender.pt), trained on first use (~12 s)."""
    return _built("tiny_game_run", GAME, tmp_path_factory)[0]


def tiny_game_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``fit`` returned for ``tiny_game_run``."""
    return _built("tiny_game_run", GAME, tmp_path_factory)[1]


def tiny_multi_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The game.victims = 2 run directory and what ``fit`` returned for it."""
    return _built("tiny_multi_run", [*MULTI, "game.belief_mode=softmax"], tmp_path_factory)
