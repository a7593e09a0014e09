"""Frames to a video file: GIF with Pillow, MP4 with imageio and imageio-ffmpeg (both in the ``render`` extra).

A GIF's frames share one palette, quantised once from a sample of every frame's pixels and applied without
dithering: imageio's Pillow path quantises each frame on its own, ~35 ms a frame, half of a video's time.
``check_writer`` names ``render=true`` and the install command before any episode.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

INSTALL = 'pip install -e ".[render]"'
PALETTE = 128  # colours of a GIF: flat-coloured discs and squares, their anti-aliased edges and the caption


def _require(module: str, package: str, what: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{what} needs the Python package {package}, which is not installed: {INSTALL} (the render extra), "
            "or leave render=false."
        ) from err


def check_writer(fmt: str) -> None:
    """Raise an ImportError naming the setting and the install command when ``fmt``'s writer is missing."""
    _require("PIL", "pillow", "render=true")
    if fmt == "mp4":
        for module, package in (("imageio", "imageio"), ("imageio_ffmpeg", "imageio-ffmpeg")):
            _require(module, package, "render=true with render_format=mp4 (render_format=gif needs neither)")


def write_video(path: Path, frames: Sequence[np.ndarray], fps: int) -> Path:
    """``frames`` [H, W, 3] uint8 to ``path``: ``.gif`` (loops forever) or ``.mp4`` (H.264), ``fps`` frames a
    second."""
    if path.suffix == ".gif":
        _write_gif(path, frames, fps)
    else:
        import imageio.v3 as iio

        stack = np.stack(frames)  # [T, H, W, 3]
        even = ((0, 0), (0, stack.shape[1] % 2), (0, stack.shape[2] % 2), (0, 0))  # H.264 (yuv420p) wants even sides
        iio.imwrite(
            path, np.pad(stack, even, mode="edge"), extension=path.suffix, plugin="FFMPEG", fps=fps, macro_block_size=1
        )
    return path


def _write_gif(path: Path, frames: Sequence[np.ndarray], fps: int) -> None:
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    sample = Image.fromarray(np.concatenate([frame[::4, ::4] for frame in frames]))  # every frame, 1 pixel in 16
    palette = sample.quantize(colors=PALETTE, method=Image.Quantize.MEDIANCUT)
    indexed = [image.quantize(palette=palette, dither=Image.Dither.NONE) for image in images]
    indexed[0].save(path, save_all=True, append_images=indexed[1:], duration=round(1000 / fps), loop=0)
