"""Artefacts and checkpoints are data, never code: every ``.pt`` / ``.ckpt`` file batpal reads goes through
``load_weights`` (``torch.load(weights_only=True)``), and every one it writes holds plain containers only.

Plain = tensors, ``dict`` / ``OrderedDict`` / ``list`` / ``tuple`` of plain values, ``str``, ``int``, ``float``,
``bool`` and ``None`` (``check_plain``). A file holding anything else (a numpy array, a ``Path``, a dataclass,
an object whose unpickling calls a function) is refused with a ``ValueError``: unpickling it could run code.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

_PRIMITIVES = (str, int, float, bool, type(None))


def load_weights(path: str | Path, what: str, map_location: Any = "cpu") -> Any:
    """The contents of ``path`` (a ``torch.save`` file), loaded with ``weights_only=True``.

    ``what`` names the file in errors ("reference policy", "checkpoint", ...). A ``ValueError`` if the file is
    not a ``torch.save`` archive (corrupt, truncated, or another format), or if it holds Python objects that are
    not plain weights; a ``FileNotFoundError`` if it does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist.")
    if not zipfile.is_zipfile(path):  # torch.save writes zip archives; anything else is not ours
        raise ValueError(f"{what} {path} is corrupt or not a file written by torch.save (not a zip archive).")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        detail = f" (it asks for {found.group(1)})" if found else ""
        raise ValueError(
            f"{what} {path} contains Python objects that are not plain weights and will not be loaded, because "
            f"loading them could run code{detail}. batpal only reads files holding tensors and plain containers."
        ) from None
    except (RuntimeError, EOFError, OSError, KeyError, zipfile.BadZipFile) as err:
        raise ValueError(f"{what} {path} is corrupt and cannot be loaded: {err}") from err


def check_plain(obj: Any, what: str) -> Any:
    """``obj`` itself if it holds only tensors and plain containers (so it loads with ``weights_only``); else a
    ``TypeError`` naming where the first other value sits."""
    _check(obj, what)
    return obj


def _check(obj: Any, where: str) -> None:
    if isinstance(obj, torch.Tensor) or type(obj) in _PRIMITIVES:  # exact types: np.float64 is a float subclass
        return
    if type(obj) in (dict, OrderedDict):
        for key, value in obj.items():
            if type(key) not in _PRIMITIVES:
                raise TypeError(f"{where}: key {key!r} is a {type(key).__name__}, not a plain key.")
            _check(value, f"{where}[{key!r}]")
        return
    if type(obj) in (list, tuple):
        for i, value in enumerate(obj):
            _check(value, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}: only tensors and plain containers "
        "(dict, list, tuple, str, int, float, bool, None) may be saved, so that the file loads with weights_only."
    )
