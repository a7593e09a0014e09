"""A caption band above each frame (the step first, then who plays and the victim), so every frame of a video
differs from the last: the GIF writer would otherwise merge repeated frames (at t = 0 and 1 MPE's agents have not
moved yet) and a video would lose steps. A caption wider than the frame is cut on the right."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=16)
def font(height: float) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's own font, ``height`` pixels high where FreeType is there (its fixed small bitmap font elsewhere)."""
    try:
        return ImageFont.load_default(size=max(8.0, height))
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


def centred_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, face, fill: tuple) -> None:
    """``text`` centred on ``xy`` (measured, so it works with bitmap fonts too, which take no anchor)."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=face)
    draw.text((xy[0] - (left + right) / 2, xy[1] - (top + bottom) / 2), text, fill=fill, font=face)


def band_height(width: int) -> int:
    """Pixels of the caption band above a frame ``width`` pixels wide."""
    return round(max(10.0, width / 28)) + 8


def stamp(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` [H, W, 3] uint8 below a white band [band_height(W), W] holding ``text``: [H + band, W, 3]."""
    width = frame.shape[1]
    band = Image.new("RGB", (width, band_height(width)), (255, 255, 255))
    ImageDraw.Draw(band).text((4, 4), text, fill=(0, 0, 0), font=font(band.height - 8.0))
    return np.concatenate((np.asarray(band), frame))
