"""Smoke test on real StarCraft II: skipped, with the reason, where smacv2 / SC2 / the SMAC maps are absent.

For each SMAC env of the registry, with its config's kwargs (the authors' settings): reset, then a few masked
random steps, checking the observation and state sizes against the game's, that each ally's own unit-type
bits are one-hot and that the allies together show every unit type of the map (SMAC v1's ids), and the win flag.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from batpal.envs import make
from batpal.envs.registry import ENVS
from batpal.envs.smac import SMACUnavailableError, check_smac_available

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "env"
NAMES = ["smac_2s3z", "smac_mmm", "smac_1c3s5z", "smac_11m"]
STEPS = 5


@pytest.mark.parametrize("name", NAMES)
def test_starcraft_smoke(name):
    map_name = dict(ENVS[name].kwargs)["map_name"]
    try:
        check_smac_available(map_name)
    except SMACUnavailableError as err:
        pytest.skip(str(err).splitlines()[0])
    cfg = OmegaConf.load(CONFIGS / f"{name}.yaml")
    env = make(name, 1, seed=0, parallel=False, **OmegaConf.to_container(cfg.kwargs))
    try:
        td = env.reset()
        game = env.base_env._envs[0]._env
        assert game.episode_limit == cfg.max_episode_steps
        assert td["agents", "observation"].shape == (1, game.n_agents, game.get_obs_size())
        assert td["state"].shape == (1, game.get_state_size())
        bits = game.unit_type_bits
        if bits > 0:
            own_types = td["agents", "observation"][0, :, -bits:]  # [N, bits]: own features end with the type
            assert (own_types.sum(-1) == 1).all()
            assert set(own_types.argmax(-1).tolist()) == set(range(bits))  # every unit type, v1's ids
        for _ in range(STEPS):
            td = env.rand_step(td)["next"]  # random actions within the availability mask
            assert td["agents", "observation"].shape[-1] == game.get_obs_size()
            assert td["info", "battle_won"].dtype == torch.bool
            if td["done"].any():
                won = bool(td["info", "battle_won"].item())
                assert td["terminated"].item() or td["truncated"].item()
                assert not (won and td["truncated"].item())
                break
            assert not td["info", "battle_won"].any()
            td = td.clone()
    finally:
        env.close()
