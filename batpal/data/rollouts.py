"""Collector -> IterableDataset: each item is one on-policy batch ``[envs, time]`` collected on demand.

The module's ``training_step`` takes ``dataloader_iter`` so Lightning does not prefetch: a batch is
collected only when the step asks for it, with the policy as just updated (PPO needs on-policy data).
"""

from __future__ import annotations

from collections.abc import Iterator

from tensordict import TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torch.utils.data import DataLoader, IterableDataset
from torchrl.collectors import Collector
from torchrl.envs import EnvBase


def make_collector(env: EnvBase, policy: TensorDictModuleBase, rollout_steps: int) -> Collector:
    """A collector stepping all of ``env``'s batched envs ``rollout_steps`` times per batch, forever."""
    return Collector(
        env,
        policy,
        frames_per_batch=env.batch_size.numel() * rollout_steps,
        total_frames=-1,
        device=env.device,
        trust_policy=True,
        auto_register_policy_transforms=False,
    )


class CollectorStream(IterableDataset):
    """Yields ``iters_per_epoch`` batches per epoch from one persistent collector iterator."""

    def __init__(self, collector: Collector, iters_per_epoch: int) -> None:
        super().__init__()
        self.collector = collector
        self.iters_per_epoch = iters_per_epoch
        self._iterator: Iterator[TensorDictBase] | None = None

    def __iter__(self) -> Iterator[TensorDictBase]:
        if self._iterator is None:
            self._iterator = iter(self.collector)
        for _ in range(self.iters_per_epoch):
            yield next(self._iterator)

    def loader(self) -> DataLoader:
        """A DataLoader that hands the TensorDicts over untouched (no collation, no worker processes)."""
        return DataLoader(self, batch_size=None, collate_fn=_identity, num_workers=0)


def _identity(batch: TensorDictBase) -> TensorDictBase:
    return batch
