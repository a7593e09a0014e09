"""Settings added after runs were saved (``batpal.config.added``): each is a real setting whose default is the
listed old-behaviour value, so saved runs and cached steps keep matching a fresh config."""

from __future__ import annotations

from omegaconf import OmegaConf

from batpal.config.added import ADDED, older
from batpal.config.schema import FitConfig
from batpal.resume import flatten


def test_each_added_setting_defaults_to_its_old_behaviour():
    defaults = flatten(OmegaConf.to_container(OmegaConf.structured(FitConfig)))
    for key, value in ADDED.items():
        assert key in defaults, key
        assert defaults[key] == value, (key, defaults[key], value)


def test_older_drops_only_absent_settings_at_their_old_value():
    saved = {"game.K": 4}
    assert older(saved, {"game.K": 4, "game.sign_entropy": False}) == {"game.K": 4}
    assert older(saved, {"game.K": 4, "game.sign_entropy": True}) == {"game.K": 4, "game.sign_entropy": True}
    assert older({**saved, "game.sign_entropy": False}, {"game.sign_entropy": False}) == {"game.sign_entropy": False}
    assert older(saved, {"game.other": False}) == {"game.other": False}  # not a listed setting
