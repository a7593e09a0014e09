"""Arithmetic per iteration of MAPPO and BATPAL, in the same set-up as ``overhead.py``: the floor of its ratio.

Counts the floating-point operations of one training iteration (collection + every update) with PyTorch's own
FLOP formulas (``torch.utils.flop_counter``), per op, from inside a dispatch mode. On a compute-bound machine
(our 2-core CPU: matmuls of 128-wide MLPs and a GRU(128)) wall-clock per world-1 frame cannot fall much below
this ratio whatever the engineering; only less work per iteration lowers it.

    python benchmarks/flops.py [-- game.belief_batch=0.5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from overhead import config, run_configs
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map
from torch.utils.flop_counter import flop_registry

from batpal.fit import fit
from batpal.modules.rollout import RolloutModule


def _shapes(tree: Any) -> Any:
    return tree_map(lambda x: x.shape if isinstance(x, torch.Tensor) else x, tree)


class FlopCount(TorchDispatchMode):
    """Sums ``flop_registry``'s count of every matmul / conv op dispatched inside it, by op name."""

    def __init__(self) -> None:
        super().__init__()
        self.by_op: Counter[str] = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            formula = flop_registry[packet]
            self.by_op[str(packet)] += formula(*_shapes(args), **_shapes(kwargs), out_val=_shapes(out))
        return out


def count_iteration(run: Callable[[], Any], iteration: int = 2) -> Counter[str]:
    """FLOPs of the ``iteration``-th ``training_step`` (0-based) of whatever ``run`` trains."""
    counted: dict[str, Counter[str]] = {}
    original = RolloutModule.training_step
    seen = [0]

    def training_step(self: RolloutModule, dataloader_iter: Any) -> None:  # Lightning passes it by this name
        seen[0] += 1
        if seen[0] - 1 != iteration:
            return original(self, dataloader_iter)
        with FlopCount() as mode:
            out = original(self, dataloader_iter)
        counted["flops"] = mode.by_op
        return out

    RolloutModule.training_step = training_step
    try:
        run()
    finally:
        RolloutModule.training_step = original
    return counted["flops"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=256, help="world-1 envs (MAPPO's envs)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("batpal_overrides", nargs="*", help="hydra overrides for BATPAL only")
    args = parser.parse_args()
    mappo_cfg, batpal_cfg, total, _ = run_configs(args.envs, args.steps, args.epochs, 4, args.batpal_overrides)
    with tempfile.TemporaryDirectory() as tmp:
        mappo = count_iteration(lambda: fit(config(mappo_cfg, Path(tmp) / "mappo")))
        run_dir = Path(tmp) / "batpal"
        fit(config([*batpal_cfg, "stages=[pretrain,calibrate]"], run_dir))  # pi0 and Vmax first, not counted
        shutil.rmtree(run_dir / "checkpoints")
        batpal = count_iteration(lambda: fit(config([*batpal_cfg, "stages=[adversarial]"], run_dir)))
    print(f"{'method':<8} {'envs':>6} {'GFLOP / iteration':>18}  by op")
    for name, envs, counts in (("MAPPO", args.envs, mappo), ("BATPAL", total, batpal)):
        ops = ", ".join(f"{op} {n / 1e9:.2f}" for op, n in sorted(counts.items()))
        print(f"{name:<8} {envs:>6} {sum(counts.values()) / 1e9:>18.2f}  {ops}")
    print(f"batpal_over_mappo_flops_per_world1_frame: {sum(batpal.values()) / sum(mappo.values()):.2f}x")


if __name__ == "__main__":
    main()
