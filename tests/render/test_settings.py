"""The render settings of ``batpal.evaluate``: bad values and a missing writer refused before any episode; the
writers' files read back."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hydra.errors import ConfigCompositionException

from batpal.render.videos import RenderSettings, file_label, video_name
from batpal.render.writer import check_writer, write_video
from tests.eval.conftest import compose_evaluate


def _settings(*overrides: str) -> RenderSettings | None:
    return RenderSettings.of(compose_evaluate("experiment=mpe_spread", *overrides))


def test_settings_read_when_render_is_on():
    assert _settings() is None  # render=false by default: nothing is checked or drawn
    assert _settings("render=true", "render_fps=12", "render_size=128") == RenderSettings(1, 12, 128, "gif")


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("render_episodes=0", "render_episodes must be an integer >= 1, got 0"),
        ("render_fps=0", "render_fps must be frames a second in 1..50, got 0"),
        ("render_fps=60", "render_fps must be frames a second in 1..50, got 60"),
        ("render_size=32", "render_size must be a frame side in pixels in 64..1024, got 32"),
        ("render_format=avi", "render_format must be one of gif, mp4, got 'avi'"),
        ("experiment=smac_2s3z", "render=true draws videos of mpe_spread, lbf, lbf_released only, not env 'smac_2s3z'"),
    ],
)
def test_bad_settings_refused(override, match):
    with pytest.raises(ValueError, match=match):
        _settings("render=true", override)


def test_bad_types_refused_at_composition():
    with pytest.raises(ConfigCompositionException, match="render_fps"):
        _settings("render=true", "render_fps=fast")


def test_a_missing_writer_names_render_and_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails, as when the package is absent
    check_writer("gif")  # Pillow alone
    # imageio itself may be absent too (CI installs no render extra): the message names whichever is missing first
    with pytest.raises(ImportError, match=r"render=true with render_format=mp4 .*package imageio.*\.\[render\]"):
        check_writer("mp4")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'render=true needs the Python package pillow.*install -e "\.\[render\]"'):
        check_writer("gif")


def _frames(n: int, height: int, width: int) -> list[np.ndarray]:
    """``n`` frames, each a different shade (so none is merged into the last)."""
    return [np.full((height, width, 3), 20 * t, dtype=np.uint8) for t in range(n)]


def test_gif_keeps_every_frame(tmp_path):
    from PIL import Image, ImageSequence

    path = write_video(tmp_path / "a.gif", _frames(7, 40, 60), fps=10)
    with Image.open(path) as gif:
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
        assert gif.info["duration"] == 100 and gif.info["loop"] == 0
    assert len(frames) == 7 and frames[0].shape == (40, 60, 3)
    assert [int(f[0, 0, 0]) for f in frames] == [20 * t for t in range(7)]


def test_mp4_of_odd_sides(tmp_path):
    why = "MP4 needs the render extra (imageio, imageio-ffmpeg: pip install -e '.[render]'); CI has GIF only"
    iio = pytest.importorskip("imageio.v3", reason=why)
    pytest.importorskip("imageio_ffmpeg", reason=why)
    path = write_video(tmp_path / "a.mp4", _frames(5, 41, 63), fps=5)
    assert iio.imread(path).shape == (5, 42, 64, 3)  # padded to even sides for H.264


def test_file_names():
    assert (
        file_label("pi0 only") == "pi0_only"
        and file_label("a/b:c") == "a_b_c"
        and file_label("Severity 2") == ("Severity_2")
    )
    assert video_name("BATPAL", "Random", (1,), 0, 1, "gif") == "BATPAL__Random__victim1.gif"
    assert video_name("BATPAL", "Random", (0, 2), 0, 1, "gif") == "BATPAL__Random__victim0-2.gif"  # a victim set
    assert video_name("MAPPO", "No attack", (), 2, 3, "mp4") == "MAPPO__No_attack__novictim__ep2.mp4"
