"""Base LightningModule for on-policy stages: env + collector lifecycle, episode metrics, exact checkpoints.

Subclasses build their networks in ``__init__``, give the policy to act with (``rollout_policy``) and
implement ``update(batch)``; this class feeds them one collector batch per ``training_step``.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
from tensordict import TensorDict, TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torch.utils.data import DataLoader
from torchrl.collectors import Collector
from torchrl.envs import EnvBase, TransformedEnv

from batpal.config.schema import EnvConfig
from batpal.data import CollectorStream, finished_episodes, make_collector
from batpal.envs import make
from batpal.envs.registry import check_env_name
from batpal.objectives.guards import DivergenceError, NonFiniteGuard
from batpal.safe_load import check_plain

# One value per iteration; ``batch_size`` is required by Lightning with the ``dataloader_iter`` step flavour.
_STEP: dict[str, Any] = {"on_step": True, "on_epoch": False, "batch_size": 1}


class RolloutModule(L.LightningModule, ABC):
    """Drives a TorchRL collector over ``env_name`` and hands each batch to ``update`` (manual optimization)."""

    stage_name = "rollout"  # written into checkpoints: ``ckpt_path=last`` resumes the stage it belongs to

    def __init__(self, env: EnvConfig, rollout_steps: int, total_frames: int, iters_per_epoch: int, seed: int) -> None:
        super().__init__()
        check_env_name(env.name)
        if total_frames < 1:
            raise ValueError(f"total frames must be >= 1, got {total_frames}.")
        self.automatic_optimization = False
        self.env_name, self.num_envs, self.rollout_steps = env.name, int(env.num_envs), int(rollout_steps)
        self.total_frames, self.iters_per_epoch, self.seed = int(total_frames), int(iters_per_epoch), int(seed)
        self.env_kwargs = dict(env.kwargs or {})
        self.guard = NonFiniteGuard(reduce=self._sum_over_ranks)
        self.run_id: str | None = None  # the run directory's id (``batpal.resume``), written into every checkpoint
        self.frames = 0  # env steps collected so far, all ranks together
        self.wall_s = 0.0  # seconds spent in training steps, summed over resumes
        self.world_size_hint = 1  # set by the stage from its Trainer before fit
        self.env: EnvBase | None = None
        self.collector: Collector | None = None
        self._restored: dict[str, Any] | None = None
        self._last_return = float("nan")

    # -- sizes ---------------------------------------------------------------------------------------
    @property
    def frames_per_iteration(self) -> int:
        """Env steps one iteration collects over all ranks."""
        return self.num_envs * self.rollout_steps * self._world_size()

    def num_epochs(self) -> int:
        """Trainer epochs needed to collect ``total_frames`` (an epoch is ``iters_per_epoch`` iterations)."""
        iterations = math.ceil(self.total_frames / self.frames_per_iteration)
        return max(1, math.ceil(iterations / self.iters_per_epoch))

    def _world_size(self) -> int:
        return self.trainer.world_size if self._trainer is not None else self.world_size_hint

    # -- hooks for subclasses ------------------------------------------------------------------------
    @abstractmethod
    def rollout_policy(self) -> TensorDictModuleBase:
        """The policy the collector acts with (it must write every key ``update`` reads)."""

    def decorate_env(self, env: TransformedEnv, rank: int) -> TransformedEnv:
        """Hook: append stage-specific transforms (type draw, belief state) to the rollout env."""
        return env

    @abstractmethod
    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """One iteration's optimizer steps on ``batch`` ``[envs, time]``; returns scalars to log."""

    # -- optimizer steps -----------------------------------------------------------------------------
    def actor_critic_step(self, opt_actor, opt_critic, actor_loss: torch.Tensor, critic_loss: torch.Tensor) -> None:
        """One guarded PPO step of an actor and its critic (disjoint parameters, one backward)."""
        self.guard.check_loss("actor", actor_loss)
        self.guard.check_loss("critic", critic_loss)
        opt_actor.zero_grad()
        opt_critic.zero_grad()
        self.manual_backward(actor_loss + critic_loss)
        for opt in (opt_actor, opt_critic):
            self.clip_gradients(opt, self.ppo.max_grad_norm, "norm")
        opt_actor.step()
        opt_critic.step()

    def _sum_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        return self.trainer.strategy.reduce(value, reduce_op="sum") if self._trainer is not None else value

    # -- data ----------------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        """Builds env and collector on this rank's device (after Lightning moved the module there)."""
        if self.collector is None:
            rank = self.global_rank if self._trainer is not None else 0
            env = make(self.env_name, self.num_envs, self.seed + 1000 * rank, self.device, **self.env_kwargs)
            # not a submodule: its state goes into ``rollout_state``, not the module's state_dict
            object.__setattr__(self, "env", self.decorate_env(env, rank))
            self.collector = make_collector(self.env, self.rollout_policy(), self.rollout_steps)
            if self._restored is not None:
                self._restore_rollout_state(self._restored)
                self._restored = None
        return CollectorStream(self.collector, self.iters_per_epoch).loader()

    def before_collect(self) -> None:
        """Hook: set what the next collection depends on from the run's progress (``frames``), so that a resumed
        run collects exactly as one left alone did."""

    def training_step(self, dataloader_iter: Iterator[TensorDictBase]) -> None:
        """One iteration: collect a batch with the current policy, then the subclass's updates; a diverged update
        stops the run here, before the epoch's checkpoint is written, so the last good checkpoint stays."""
        start = time.perf_counter()
        self.before_collect()
        batch, _, _ = next(dataloader_iter)  # Lightning yields (batch, batch_idx, dataloader_idx)
        self.frames += self.frames_per_iteration
        try:
            metrics = self.update(batch)
            self.guard.check_module(self)
        except DivergenceError as err:
            iteration = self.frames // self.frames_per_iteration
            raise DivergenceError(
                f"stage {self.stage_name} diverged at iteration {iteration} ({self.frames} frames): {err}. The last "
                "good checkpoint is kept; lower this stage's learning rates (<stage>.ppo.actor_lr / critic_lr, "
                "game.adversary_lr / belief_lr) or check the rewards for NaN / inf."
            ) from err
        self.wall_s += time.perf_counter() - start
        self._log_iteration(metrics, self._episode_figures(batch))

    def _log_iteration(self, metrics: dict[str, Any], episodes: dict[str, float]) -> None:
        """The iteration's row in every logger (``train/*``, the episodes' figures, frames, wall_s, epoch), written
        to the loggers in one call at Lightning's step: ``self.log`` costs ~0.6-1 ms per value, 40-60 ms per
        iteration for the adversarial stage's ~60 (``benchmarks/logging_overhead.py``; 2-5% of that stage's
        wall-clock). ``self.log`` keeps the progress bar's values and ``train/return`` in ``callback_metrics``."""
        row = {f"train/{k}": v for k, v in metrics.items() if not isinstance(v, torch.Tensor)}
        tensors = {f"train/{k}": v.detach().reshape(()) for k, v in metrics.items() if isinstance(v, torch.Tensor)}
        if tensors:  # one device sync for all of them
            row |= dict(zip(tensors, torch.stack([v.float() for v in tensors.values()]).tolist(), strict=True))
        row = {k: float(v) for k, v in row.items()} | episodes
        row |= {"frames": float(self.frames), "wall_s": self.wall_s, "epoch": self.current_epoch}
        loop = self.trainer.fit_loop.epoch_loop  # Lightning's step of this iteration (as batpal.eval.during_training)
        step = getattr(loop, "_batches_that_stepped", self.frames // self.frames_per_iteration - 1)
        for logger in self.loggers:
            logger.log_metrics(row, step=step)
            logger.save()
        self.log("frames", float(self.frames), prog_bar=True, logger=False, **_STEP)
        for name in ("train/return", "train/win_rate"):
            if name in episodes:
                self.log(name, episodes[name], prog_bar=True, logger=False, **_STEP)

    def _episode_figures(self, batch: TensorDictBase) -> dict[str, float]:
        """Mean return (and win rate) of the episodes that ended in ``batch`` on every rank: pooled sums, reduced on
        every rank each iteration (a rank without a finished episode still joins the reduction); {} when none
        ended anywhere."""
        stats = finished_episodes(batch)
        wins = stats.wins if stats.wins is not None else stats.returns.new_zeros(0)
        sums = torch.stack([stats.returns.double().sum(), stats.returns.new_tensor(float(stats.count)).double(),
                            wins.double().sum()])
        if self._trainer is not None and self.trainer.world_size > 1:
            sums = self._sum_over_ranks(sums)
        total, count, won = sums.tolist()
        if count == 0:
            return {}
        self._last_return = total / count
        figures = {"train/return": self._last_return}
        if stats.wins is not None:
            figures["train/win_rate"] = won / count
        return figures

    # -- checkpoints ---------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Stores what the weights do not: frames, RNG states, the envs' simulator state and the carrier."""
        state: dict[str, Any] = {
            "stage": self.stage_name,
            "run_id": self.run_id,
            "frames": self.frames,
            "wall_s": self.wall_s,
            "torch_rng": torch.get_rng_state(),
        }
        if self.collector is not None:
            state["collector"] = self.collector.state_dict()
            # the envs' current observation mid-episode, as plain tensors so checkpoints load with weights_only
            state["carrier"] = self.collector._carrier.to_dict()
            state["sim"] = _env_state(self.env.base_env)  # simulator state and its RNG, plain data
            state["transforms"] = _plain(self.env.transform.state_dict(), "transforms' state")  # e.g. the type draw
        checkpoint["rollout_state"] = state

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("rollout_state")
        if state is None:
            raise ValueError("checkpoint has no 'rollout_state': it was not written by batpal.")
        self.frames = int(state["frames"])
        self.wall_s = float(state["wall_s"])
        self._restored = state

    def _restore_rollout_state(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch_rng"])
        if "collector" in state:
            self.collector.load_state_dict(state["collector"], strict=False)
            carrier = self.collector._carrier
            carrier.update(TensorDict(state["carrier"], batch_size=carrier.batch_size, device=carrier.device))
            _load_env_state(self.env.base_env, _plain(state["sim"], "env state"))
            self.env.transform.load_state_dict(_plain(state["transforms"], "transforms' state"))


def _env_state(env: EnvBase) -> Any:
    """An env's full simulator state: ``env_state()`` where it has one (LBF), else its ``state_dict`` (MPE); plain
    data (tensors and plain containers), so the checkpoint loads with ``weights_only`` and nothing is pickled."""
    return _plain(env.env_state() if hasattr(env, "env_state") else env.state_dict(), "env state")


def _load_env_state(env: EnvBase, state: Any) -> None:
    if hasattr(env, "load_env_state"):
        env.load_env_state(state)
    else:
        env.load_state_dict(state)


def _plain(state: Any, what: str) -> Any:
    """``state`` itself, checked to be plain data (``batpal.safe_load.check_plain``): a TypeError when saving a
    state that would not load with ``weights_only``; a ValueError when restoring an older checkpoint's pickled
    bytes (a uint8 tensor), which are never unpickled."""
    if isinstance(state, torch.Tensor):
        raise ValueError(
            f"the checkpoint's {what} is a tensor of pickled bytes (written by an older batpal): it is not "
            "unpickled, because that could run code; start the stage afresh."
        )
    return check_plain(state, what)
