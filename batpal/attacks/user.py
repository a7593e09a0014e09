"""User attacks ``path/to/file.py:name``: any callable or TensorDictModule from the victim's view to its action.

``name`` maps the victim's observation [B, obs] (and, if it takes a second argument, its action mask [B, A]
bool) to actions [B]; a TensorDictModule reads ``"observation"`` (and ``"action_mask"``, ``"victim"``) and
its first out key is the action.
"""

from __future__ import annotations

import importlib.util
import inspect
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from tensordict import TensorDict
from tensordict.nn import TensorDictModuleBase

from batpal.attacks.base import Attack, victim_observation


def is_user_spec(spec: str) -> bool:
    """``file.py:name`` (the part before the last colon ends in ``.py``)."""
    path, sep, name = spec.rpartition(":")
    return bool(sep) and path.endswith(".py") and bool(name)


class UserAttack(Attack):
    """Wraps the user's function or module; the victim's observation and mask are cut out for it."""

    def __init__(self, fn: Callable[..., Any] | TensorDictModuleBase, label: str) -> None:
        super().__init__(label)
        self.fn = fn
        self.takes_mask = not isinstance(fn, TensorDictModuleBase) and _positional_arity(fn) >= 2

    def act(self, observation: torch.Tensor, victim_mask: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
        obs = victim_observation(observation, victim)  # [B, obs]
        if isinstance(self.fn, TensorDictModuleBase):
            td = TensorDict({"observation": obs, "action_mask": victim_mask, "victim": victim}, batch_size=victim.shape)
            return self.fn(td).get(self.fn.out_keys[0])
        return self.fn(obs, victim_mask) if self.takes_mask else self.fn(obs)


def load_user_attack(spec: str) -> UserAttack:
    """Imports ``file.py`` and wraps its ``name``; clear errors for a missing file, a syntax error or exception
    while importing it (file and line), a missing name, or a non-callable."""
    path_str, _, name = spec.rpartition(":")
    path = Path(path_str).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"attack file {path} (from {spec!r}) does not exist.")
    module = _import_file(path)
    if not hasattr(module, name):
        found = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
        raise ValueError(f"{path} defines no {name!r}; its callables: {', '.join(sorted(found)) or 'none'}.")
    fn = getattr(module, name)
    if not callable(fn):
        raise TypeError(f"{spec}: {name!r} is a {type(fn).__name__}, not a callable or TensorDictModule.")
    return UserAttack(fn, name)


def _import_file(path: Path) -> ModuleType:
    """Runs ``path`` as a module; a syntax error or an exception while importing it names the file and line."""
    module_spec = importlib.util.spec_from_file_location(f"batpal_user_attack_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as err:
        where = f"attack file {err.filename or path}, line {err.lineno}"
        text = f": {err.text.strip()}" if err.text and err.text.strip() else ""
        raise ValueError(f"{where}: {type(err).__name__}: {err.msg}{text}") from err
    except Exception as err:
        lineno = _line_in(path, err)
        where = f"attack file {path}" + (f", line {lineno}" if lineno is not None else "")
        raise ValueError(f"{where}: importing it raised {type(err).__name__}: {err}") from err
    return module


def _line_in(path: Path, err: BaseException) -> int | None:
    """The line of ``path`` the exception passed through last (the file's statement that raised), if any."""
    target = path.resolve()
    lines = [f.lineno for f in traceback.extract_tb(err.__traceback__) if Path(f.filename).resolve() == target]
    return lines[-1] if lines else None


def _positional_arity(fn: Callable[..., Any]) -> int:
    """How many positional arguments ``fn`` accepts (2 or more: it also gets the mask)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in kinds for p in params)
