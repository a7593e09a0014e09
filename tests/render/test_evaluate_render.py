"""``python -m batpal.evaluate ... render=true`` on a tiny BATPAL run: a GIF per (defender, attack, victim) read back
whole, the cross table unchanged by the videos, and nothing played when a render setting is bad."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from batpal.eval.defenders import load_defender
from batpal.evaluate import main
from batpal.render import mpe
from batpal.render.caption import band_height
from batpal.render.recording import record_episode
from batpal.render.videos import VIDEOS
from tests.eval.conftest import compose_evaluate
from tests.tiny_run import tiny_game_run

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def game_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_game_run(tmp_path_factory)


def _evaluate(game_run: Path, out: Path, *overrides: str) -> None:
    main(
        compose_evaluate(
            "experiment=mpe_spread",
            f"defenders={{BATPAL:{game_run}}}",
            "attacks=[none,random]",
            "episodes=2",
            "env.eval_envs=4",
            f"run_dir={out}",
            *overrides,
        )
    )


def _read_gif(path: Path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def _table(out: Path) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(open(out / "cross_table.csv"))]


def test_render_writes_one_gif_per_defender_attack_victim(game_run, tmp_path):
    _evaluate(game_run, tmp_path / "plain")
    _evaluate(game_run, tmp_path / "drawn", "render=true", "render_size=96", "render_fps=10")
    assert not (tmp_path / "plain" / VIDEOS).exists()
    assert _table(tmp_path / "drawn") == _table(tmp_path / "plain")  # the videos' episodes are played apart
    videos = sorted(p.name for p in (tmp_path / "drawn" / VIDEOS).iterdir())
    assert videos == [
        "BATPAL__No_attack__novictim.gif",
        "BATPAL__Random__victim0.gif",
        "BATPAL__Random__victim1.gif",
        "BATPAL__Random__victim2.gif",
    ]
    for name in videos:
        frames = _read_gif(tmp_path / "drawn" / VIDEOS / name)
        assert len(frames) == 51  # the start and 50 steps (MPE-Spread never ends early)
        assert frames[0].shape == (96 + band_height(96), 96, 3)
    entry = json.loads((tmp_path / "drawn" / "summary.json").read_text())["render"]
    assert [v["file"] for v in entry["videos"]] == [f"{VIDEOS}/{name}" for name in videos]
    assert [v["victims"] for v in entry["videos"]] == [[], [0], [1], [2]]
    assert all(v["frames"] == 51 for v in entry["videos"])


def test_recorded_episode_replays_in_mpe2_and_leaves_the_rng(game_run):
    defender = load_defender(game_run)
    from batpal.attacks import make_attack

    attack = make_attack("random", [defender])
    state = torch.get_rng_state()
    rec = record_episode(defender, attack, 1, 0, mpe.snapshot, mpe.meta)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's stream untouched
    again = record_episode(defender, attack, 1, 0, mpe.snapshot, mpe.meta)
    np.testing.assert_array_equal(rec.actions, again.actions)  # seeded: the same episode twice
    assert rec.victims == (1,) and rec.steps == 50 and len(rec.states) == 51
    _, positions = mpe.replay(rec, render=False)
    np.testing.assert_allclose(positions, np.stack([s["agent_pos"] for s in rec.states]), rtol=0, atol=1e-4)


def test_bad_render_setting_refused_before_any_episode(game_run, tmp_path):
    with pytest.raises(ValueError, match="render_fps must be frames a second in 1..50, got 0"):
        _evaluate(game_run, tmp_path / "never", "render=true", "render_fps=0")
    assert not (tmp_path / "never").exists()
