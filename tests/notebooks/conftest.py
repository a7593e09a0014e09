"""A tiny finished BATPAL run, trained once per session (``tests/tiny_run.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_run import tiny_game_run


@pytest.fixture(scope="session")
def game_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_game_run(tmp_path_factory)
