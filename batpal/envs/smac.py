"""SMAC maps (through smacv2) as batched TorchRL envs with the shared multi-agent layout.

TorchRL's ``SMACv2Wrapper`` already yields ``agents/{observation, action_mask, action}``, ``state``, a team
``reward`` and an ``info`` node (``battle_won``, ``dead_allies``, ``dead_enemies``, ``episode_limit``).
``SMACWrapper`` subclasses it to (1) drop its ``import smacv2`` + isinstance check, so any object with
smacv2's ``StarCraft2Env`` API can be wrapped (the test stand-in), and (2) report the time limit as
``truncated`` instead of ``terminated``. ``make_smac`` checks smacv2 / StarCraft II / the map file before
building anything and batches ``num_envs`` copies with ``SerialEnv`` or ``ParallelEnv``. The default game is
smacv2's ``StarCraft2Env`` with SMAC v1's classic-map semantics restored (``batpal.envs.smac_classic``).

Seeding: each instance gets ``seed + i``; the game receives it (SC2's own random seed) and, when the instance
is built (inside its worker process under ``ParallelEnv``), it also seeds Python's ``random`` and NumPy's global
generator, which smacv2's observation code draws from (``prob_obs_enemy``; the ``10gen_*`` unit
distributions). What stays nondeterministic: StarCraft II itself across binaries, versions and machines, a game
that crashes and is restarted mid-run (smacv2 then returns ``(0, True, {})`` and starts a fresh game), and,
under ``SerialEnv``, the shared global generators, whose draws interleave across the batch (deterministic for
one batch size, not across batch sizes). ``set_seed`` (an evaluation reseeds its one batched env per chunk of
episodes) reseeds those global generators only: StarCraft II's own seed is fixed when the game is launched.

Processes: the batch is built from one callable with per-env seeds, so TorchRL reads its metadata from one
instance (seed ``seed``) built and closed in the main process; a batch of ``num_envs`` thus launches
``num_envs + 1`` games, never more than ``num_envs`` at once. That instance reseeds the main process's global
generators too.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Categorical, Composite
from torchrl.envs import ActionMask, EnvBase, ParallelEnv, SerialEnv, TransformedEnv
from torchrl.envs.libs.smacv2 import SMACv2Wrapper
from torchrl.envs.utils import ACTION_MASK_ERROR

SMAC_INSTALL_HELP = """\
SMAC needs three things (README.md, section "SMAC", has the same commands):
  1. smacv2, which is not on PyPI, installed in the same pip call as batpal's smac extra (from the batpal
     checkout): the extra holds protobuf below 3.21, as smacv2 pins it, and tensorboard below 2.21, whose
     releases need protobuf>=6.31 (with smacv2's protobuf the TensorBoard logger would fail):
       git clone https://github.com/oxwhirl/smacv2.git
       git -C smacv2 checkout 577ab5a2cff2391f8df582da5731ea9cd6adf3c6
       pip install -e ".[smac]" ./smacv2
  2. the StarCraft II Linux binary, version 4.10 (the zip's password is "iagreetotheeula"), and the SC2PATH
     environment variable pointing at its StarCraftII folder (default: ~/StarCraftII):
       wget https://blzdistsc2-a.akamaihd.net/Linux/SC2.4.10.zip
       unzip -P iagreetotheeula SC2.4.10.zip -d ~ && export SC2PATH=~/StarCraftII
  3. the SMAC maps in $SC2PATH/Maps/SMAC_Maps (so that e.g. $SC2PATH/Maps/SMAC_Maps/MMM.SC2Map exists); the
     smacv2 clone has them (its classic maps are byte for byte SMAC v1's):
       mkdir -p "$SC2PATH/Maps" && cp -r smacv2/smacv2/env/starcraft2/maps/SMAC_Maps "$SC2PATH/Maps/\""""

# smacv2's procedurally generated maps all play on one map file; the classic maps use their own name.
_MAP_FILES = {"10gen_terran": "32x32_flat", "10gen_zerg": "32x32_flat", "10gen_protoss": "32x32_flat"}
_SMAC_API = ("reset", "step", "get_obs", "get_state", "get_avail_actions", "get_obs_size", "get_state_size")


class SMACUnavailableError(ImportError):
    """smacv2, StarCraft II or the SMAC map is missing; the message lists what and how to install it."""


def sc2_path() -> Path:
    """Where StarCraft II lives: ``$SC2PATH``, else pysc2's Linux default ``~/StarCraftII``."""
    return Path(os.environ.get("SC2PATH") or "~/StarCraftII").expanduser()


def check_smac_available(map_name: str) -> None:
    """Raise ``SMACUnavailableError`` unless smacv2, the SC2 binary and ``map_name``'s map file are present."""
    problems = []
    if importlib.util.find_spec("smacv2") is None:
        problems.append("the smacv2 python package is not installed")
    else:
        known = _smacv2_map_names()
        if known is not None and map_name not in known:
            problems.append(f"smacv2 does not know the map {map_name!r} (known: {', '.join(sorted(known))})")
    root = sc2_path()
    sc2path = os.environ.get("SC2PATH", "<unset>")
    if not (root / "Versions").is_dir():
        problems.append(f"StarCraft II was not found at {root} (SC2PATH={sc2path}; expected {root / 'Versions'})")
    map_file = root / "Maps" / "SMAC_Maps" / f"{_MAP_FILES.get(map_name, map_name)}.SC2Map"
    if not map_file.is_file():
        problems.append(f"the map file for {map_name!r} is missing: {map_file}")
    if problems:
        raise SMACUnavailableError(
            f"Cannot build SMAC map {map_name!r}: " + "; ".join(problems) + ".\n" + SMAC_INSTALL_HELP
        )


def _smacv2_map_names() -> set[str] | None:
    """The map names in smacv2's registry, or ``None`` when it cannot be read (no StarCraft II is started)."""
    try:
        from smacv2.env.starcraft2.maps import smac_maps
    except Exception:  # noqa: BLE001 - a broken smacv2 install is reported when the env is built
        return None
    return set(smac_maps.get_smac_map_registry())


def seed_global_rngs(seed: int) -> None:
    """Seed Python's ``random`` and NumPy's global generator (smacv2's observation code draws from them)."""
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


class SMACWrapper(SMACv2Wrapper):
    """``SMACv2Wrapper`` over any smacv2-like env, with the time limit reported as ``truncated``.

    Truncation comes from ``info["episode_limit"]`` (smacv2 sets it only with ``continuing_episode=True``,
    which ``make_smac`` turns on); without that key, an episode that ends at ``episode_limit`` steps with
    neither a win nor a wiped-out team, or with an empty info (SC2 crashed and restarted), counts as truncated.
    The availability mask is returned in ``("agents", "action_mask")`` but not written into this env's action
    spec (batched copies must share one spec); ``make_smac`` adds ``ActionMask`` on the batched env instead.
    """

    def _check_kwargs(self, kwargs: dict) -> None:
        env = kwargs.get("env")
        missing = [name for name in _SMAC_API if not callable(getattr(env, name, None))]
        if env is None or missing:
            raise TypeError(f"env must follow smacv2's StarCraft2Env API; missing: {missing or ['env']}.")

    def _make_specs(self, env) -> None:
        super()._make_specs(env)
        flag = Categorical(2, shape=(1,), dtype=torch.bool, device=self.device)  # [1]
        self.full_done_spec = Composite(done=flag, terminated=flag.clone(), truncated=flag.clone())

    def _update_action_mask(self) -> torch.Tensor:
        """Current availability mask ``[N, A]``; left out of the spec so batched copies share one spec."""
        return torch.as_tensor(np.asarray(self.get_avail_actions(), dtype=bool), device=self.device)

    def _to_tensor(self, value) -> torch.Tensor:
        return torch.as_tensor(np.asarray(value, dtype=np.float32), device=self.device)

    def _set_seed(self, seed: int | None) -> None:
        """Reseed the global generators smacv2 draws from; the game's own seed was fixed at its launch."""
        if seed is not None:
            seed_global_rngs(seed)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs) -> TensorDictBase:
        self._steps = 0
        return super()._reset(tensordict, **kwargs)

    def _truncated(self, done: bool, info: dict) -> bool:
        """Whether a finished episode was cut by the time limit (or a crash) rather than decided."""
        if not done:
            return False
        if "episode_limit" in info:
            return bool(info["episode_limit"])
        if "battle_won" not in info:
            return True
        lost = info.get("dead_allies", 0) >= self.n_agents
        return not info["battle_won"] and not lost and self._steps >= self.episode_limit

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        action = tensordict.get(("agents", "action")).cpu().numpy()  # [N]
        try:
            reward, done, info = self._env.step(action)
        except AssertionError as err:
            if re.match(r"Agent \d+ cannot perform action \d+", str(err)):
                raise ACTION_MASK_ERROR from err
            raise
        self._steps += 1
        done = bool(done)
        truncated = self._truncated(done, info)
        info_spec = self.observation_spec["info"]
        info_td = info_spec.zero()
        for key, spec in info_spec.items():
            if key in info:
                info_td.set(key, torch.as_tensor(info[key], dtype=spec.dtype, device=self.device))
        info_td.set("episode_limit", torch.tensor(truncated, device=self.device))
        agents = TensorDict(
            {"observation": self.get_obs(), "action_mask": self._update_action_mask()},  # [N, obs], [N, A]
            batch_size=(self.n_agents,),
        )
        flags = {
            "done": torch.tensor([done], device=self.device),  # [1]
            "terminated": torch.tensor([done and not truncated], device=self.device),  # [1]
            "truncated": torch.tensor([truncated], device=self.device),  # [1]
        }
        return TensorDict(
            {
                "agents": agents,
                "state": self.get_state(),  # [S]
                "info": info_td,
                "reward": torch.tensor([float(reward)], dtype=torch.float32, device=self.device),  # [1]
                **flags,
            },
            batch_size=(),
            device=self.device,
        )


def _make_smacv2_env(map_name: str, seed: int, **kwargs):
    """Default factory: smacv2's ``StarCraft2Env`` with SMAC v1's classic-map semantics, flagging time limits."""
    from batpal.envs.smac_classic import classic_env_class

    kwargs.setdefault("continuing_episode", True)
    return classic_env_class()(map_name=map_name, seed=seed, **kwargs)


def _make_one(env_factory: Callable, map_name: str, *, device: torch.device, seed: int) -> SMACWrapper:
    """Build and wrap one SMAC instance (runs inside the worker for ``ParallelEnv``), seeding the global RNGs."""
    seed_global_rngs(seed)
    return SMACWrapper(env=env_factory(map_name, seed), categorical_actions=True, device=device)


def make_smac(
    num_envs: int,
    seed: int,
    device: torch.device,
    map_name: str,
    *,
    parallel: bool | None = None,
    env_factory: Callable | None = None,
    **env_kwargs,
) -> EnvBase:
    """Registry factory: ``num_envs`` copies of SMAC map ``map_name`` with batch ``[num_envs]``.

    Instance ``i`` is seeded with ``seed + i``. ``parallel`` picks ``ParallelEnv`` (default when
    ``num_envs > 1``: SC2 runs out of process anyway) or ``SerialEnv``. ``env_factory(map_name, seed)`` replaces
    smacv2's ``StarCraft2Env`` (tests pass a stand-in); ``env_kwargs`` go to the factory. Without a factory,
    smacv2 and StarCraft II are checked first and ``SMACUnavailableError`` is raised if anything is missing.
    An ``ActionMask`` transform keeps the action spec's mask current, so random actions are valid.
    """
    if env_factory is None:
        check_smac_available(map_name)
        env_factory = _make_smacv2_env
    if env_kwargs:
        env_factory = partial(env_factory, **env_kwargs)
    device = torch.device(device)
    # one callable for the whole batch (seeds as per-env kwargs): TorchRL then treats the batch as one task and
    # reads its metadata from a single instance, not from one extra game per env
    create = partial(_make_one, env_factory, map_name, device=device)
    seeds = [{"seed": seed + i} for i in range(num_envs)]
    batched_cls = ParallelEnv if (num_envs > 1 if parallel is None else parallel) else SerialEnv
    batched = batched_cls(num_envs, create, create_env_kwargs=seeds, device=device)
    return TransformedEnv(batched, ActionMask(("agents", "action"), ("agents", "action_mask")))
