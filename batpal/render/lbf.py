"""LBF frames drawn from our batched env's state with PIL (lbforaging's own renderer needs a display).

A grid of ``rows x cols`` cells: food as green squares, players as blue discs (the victims red), each with its
level in white. Players may share a cell (lbforaging allows it); the victims are drawn last, so they stay visible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from batpal.envs.lbf_batched import LBFBatchedEnv
from batpal.render.caption import centred_text, font
from batpal.render.recording import Recording

BACKGROUND, GRID = (236, 236, 236), (200, 200, 200)
FOOD, AGENT, VICTIM, LEVEL = (60, 150, 60), (50, 90, 200), (210, 40, 40), (255, 255, 255)
DISC = 0.4  # a player's disc radius, in cells


def snapshot(base: LBFBatchedEnv) -> dict[str, np.ndarray]:
    """Env 0's player cells [N, 2] (row, col), player levels [N] and food levels on the field [rows, cols]."""
    return {
        "player_pos": base.player_pos[0].cpu().numpy(),
        "player_level": base.player_level[0].cpu().numpy(),
        "field": base.field[0].cpu().numpy(),
    }


def meta(base: LBFBatchedEnv) -> dict[str, Any]:
    return {"rows": base.rows, "cols": base.cols}


def cell_size(rows: int, cols: int, size: int) -> float:
    """Side of a cell in pixels: the longer side of the field is ``size`` pixels."""
    return size / max(rows, cols)


def cell_box(row: int, col: int, cell: float) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of cell (row, col) in pixels."""
    return col * cell, row * cell, (col + 1) * cell, (row + 1) * cell


def draw_state(state: dict[str, np.ndarray], victims: tuple[int, ...], rows: int, cols: int, size: int) -> np.ndarray:
    """One frame [H, W, 3] uint8 of a field state (``snapshot``'s keys); ``victims`` red."""
    cell = cell_size(rows, cols, size)
    image = Image.new("RGB", (round(cell * cols), round(cell * rows)), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for k in range(1, max(rows, cols)):
        draw.line((k * cell, 0, k * cell, image.height), fill=GRID)
        draw.line((0, k * cell, image.width, k * cell), fill=GRID)
    face = font(cell * 0.45)
    for row, col in zip(*np.nonzero(state["field"]), strict=True):
        left, top, right, bottom = cell_box(int(row), int(col), cell)
        inset = 0.15 * cell
        draw.rectangle((left + inset, top + inset, right - inset, bottom - inset), fill=FOOD)
        centred_text(draw, ((left + right) / 2, (top + bottom) / 2), str(state["field"][row, col]), face, LEVEL)
    order = [i for i in range(len(state["player_level"])) if i not in victims] + list(victims)
    for i in order:
        row, col = (int(x) for x in state["player_pos"][i])
        left, top, right, bottom = cell_box(row, col, cell)
        x, y, r = (left + right) / 2, (top + bottom) / 2, DISC * cell
        draw.ellipse((x - r, y - r, x + r, y + r), fill=VICTIM if i in victims else AGENT, outline=(0, 0, 0))
        centred_text(draw, (x, y), str(state["player_level"][i]), face, LEVEL)
    return np.asarray(image)


def frames(recording: Recording, size: int) -> list[np.ndarray]:
    """One frame per recorded state."""
    rows, cols = recording.meta["rows"], recording.meta["cols"]
    return [draw_state(state, recording.victims, rows, cols, size) for state in recording.states]
