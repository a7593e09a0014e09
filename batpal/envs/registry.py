"""Name -> factory registry; factories are imported lazily so optional packages stay optional.

A name with a ":" is the user's own factory, ``env.name=my_pkg.my_module:make_env``: that module is imported (code
the user named), and nothing else is. torch and TorchRL are imported only when an env is built, so that reading a
config (``--help``, validation) stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torchrl.envs import EnvBase


@dataclass(frozen=True)
class EnvSpec:
    """Where an env's factory lives and the paper's normalisation bounds for its return."""

    factory: str  # "module:function", called as factory(num_envs=, seed=, device=, **kwargs)
    return_bounds: tuple[float, float] | None  # [lo, hi] of the paper's normalised return
    kwargs: tuple[tuple[str, object], ...] = ()
    check: str | None = None  # "module:function" called with ``kwargs``; raises if a dependency is absent


_SMAC_CHECK = "batpal.envs.smac:check_smac_available"

ENVS: dict[str, EnvSpec] = {
    "mpe_spread": EnvSpec("batpal.envs.mpe:make_spread", (-189.0, -47.0)),
    "mpe_spread_pettingzoo": EnvSpec("batpal.envs.mpe_pettingzoo:make_spread_pettingzoo", (-189.0, -47.0)),
    # LBF, our batched torch port: ``lbf`` runs the authors' rules (levels 1-3, first-listed collisions), which the
    # paper's bounds were measured on; ``lbf_released`` runs lbforaging 2.0.0's (tested step for step against it;
    # ``lbf_lbforaging`` is the python original). The paper gives no bounds for the released rules: they borrow the
    # authors' bounds only so that their returns keep being reported as a normalised return (None means win rate).
    "lbf": EnvSpec("batpal.envs.lbf_batched:make_lbf_authors", (0.4, 0.74)),
    "lbf_released": EnvSpec("batpal.envs.lbf_batched:make_lbf_batched", (0.4, 0.74)),
    "lbf_lbforaging": EnvSpec("batpal.envs.lbf:make_lbf", (0.4, 0.74)),
    "smac_2s3z": EnvSpec("batpal.envs.smac:make_smac", None, (("map_name", "2s3z"),), _SMAC_CHECK),
    "smac_mmm": EnvSpec("batpal.envs.smac:make_smac", None, (("map_name", "MMM"),), _SMAC_CHECK),
    "smac_1c3s5z": EnvSpec("batpal.envs.smac:make_smac", None, (("map_name", "1c3s5z"),), _SMAC_CHECK),
    # The paper's "11m" is not a SMAC map; 10m_vs_11m is the nearest (authors-code-notes.md).
    "smac_11m": EnvSpec("batpal.envs.smac:make_smac", None, (("map_name", "10m_vs_11m"),), _SMAC_CHECK),
}


# What every env must hold (the shared layout above ``make``): keys of its observation, action and done specs.
LAYOUT = {
    "observation_spec": (("agents", "observation"), ("agents", "action_mask"), "state"),
    "action_spec": (("agents", "action"),),
    "done_spec": ("done", "terminated", "truncated"),
}


def check_env_name(name: str) -> EnvSpec:
    """Return the spec of ``name`` (a registered env, or ``module:function`` of the user's own factory) or raise a
    ValueError naming ``env.name``."""
    if name in ENVS:
        return ENVS[name]
    if ":" in name:
        return _external_spec(name)
    raise ValueError(
        f"Unknown env {name!r} (env.name={name!r}); registered envs: {', '.join(sorted(ENVS))}; or your own env's "
        "factory, written module:function (e.g. env.name=my_pkg.my_module:make_env)."
    )


# module:function names the running command's own config gave (``allow_user_env``): only these are imported, so an
# env name read from a file someone else wrote (a run dir's pi0.pt or config.yaml) cannot run code.
_USER_ENVS: set[str] = set()


def allow_user_env(name: str) -> None:
    """Let ``make`` import ``name`` (module:function) because the user passed it to this command (``env.name``)."""
    if ":" in str(name):
        _USER_ENVS.add(str(name))


def _external_spec(name: str) -> EnvSpec:
    """The spec of the user's factory ``module:function``; its optional ``return_bounds`` = (lo, hi) attribute
    gives the normalised return (absent: raw returns only)."""
    module_name, _, fn_name = name.rpartition(":")
    if not module_name or not fn_name.isidentifier():
        raise ValueError(f"env.name={name!r}: write your own env's factory as module:function.")
    if name not in _USER_ENVS:
        raise ValueError(
            f"env.name={name!r} names code outside batpal, and this command was not given it: it is imported only "
            f"when you pass env.name={name} yourself (or call batpal.envs.registry.allow_user_env({name!r}))."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"env.name={name!r}: cannot import module {module_name!r} ({err}).") from err
    factory = getattr(module, fn_name, None)
    if not callable(factory):
        what = "has no attribute" if factory is None else "has a non-callable"
        raise ValueError(f"env.name={name!r}: module {module_name!r} {what} {fn_name!r} (the env's factory).")
    bounds = getattr(factory, "return_bounds", None)
    if bounds is not None:
        ok = isinstance(bounds, (tuple, list)) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds)
        if not ok or not bounds[0] < bounds[1]:
            raise ValueError(f"env.name={name!r}: {fn_name}.return_bounds must be (lo, hi), lo < hi; got {bounds!r}.")
        bounds = (float(bounds[0]), float(bounds[1]))
    return EnvSpec(name, bounds)


def _load(path: str):
    module_name, fn_name = path.rsplit(":", 1)
    return getattr(importlib.import_module(module_name), fn_name)


def check_env_available(name: str, kwargs: dict | None = None) -> None:
    """Raise (e.g. ``SMACUnavailableError`` with install steps) if ``name`` cannot be built on this machine; the
    user's own factory (given its ``kwargs``) builds one env here, so a wrong return fails before any compute."""
    spec = check_env_name(name)
    if spec.check is not None:
        _load(spec.check)(**dict(spec.kwargs))
    if name not in ENVS and kwargs is not None:
        make(name, 1, **dict(kwargs)).close()


def _check_layout(name: str, env: object) -> None:
    """The user's factory returned a TorchRL ``EnvBase`` with the shared layout, or a TypeError naming env.name."""
    from torchrl.envs import EnvBase

    if not isinstance(env, EnvBase):
        raise TypeError(f"env.name={name!r}: the factory returned a {type(env).__name__}, not a TorchRL EnvBase.")
    missing = [
        f"{attr}[{key!r}]" for attr, keys in LAYOUT.items() for key in keys if key not in getattr(env, attr).keys(True)
    ]
    if "reward" not in env.reward_keys:
        missing.append("reward_spec['reward']")
    if missing:
        raise TypeError(
            f"env.name={name!r}: the env lacks {', '.join(missing)} of the layout every batpal env shares "
            "(batpal/envs/__init__.py)."
        )


def make(name: str, num_envs: int, seed: int = 0, device: str | torch.device = "cpu", **kwargs) -> EnvBase:
    """Build env ``name`` with ``num_envs`` parallel copies, seeded, with episode returns tracked."""
    import torch
    from torchrl.envs import RewardSum, TransformedEnv

    spec = check_env_name(name)
    if int(num_envs) < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}.")
    env = _load(spec.factory)(
        num_envs=int(num_envs), seed=int(seed), device=torch.device(device), **dict(spec.kwargs), **kwargs
    )
    if name not in ENVS:
        _check_layout(name, env)
    # auto_unwrap: a factory's own TransformedEnv (SMAC's action mask) and this one become one flat chain
    return TransformedEnv(env, RewardSum(in_keys=["reward"], out_keys=["episode_reward"]), auto_unwrap=True)
