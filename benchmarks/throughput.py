"""Env-steps per second: raw mpe2 loop, TorchRL-wrapped PettingZoo, our batched MPE-Spread, the collector with
the MAPPO policy, and raw lbforaging vs our ``lbf_lbforaging`` and batched ``lbf``. Prints a table; the last
line is the headline figure.

    python benchmarks/throughput.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from batpal.data import make_collector
from batpal.envs import make
from batpal.envs.lbf import LBF_DEFAULTS
from batpal.modules.mappo import MAPPOModule


def _rate(step: Callable[[], int], seconds: float) -> float:
    """Env-steps per second of ``step`` (which returns how many env-steps it made), after one warm-up call."""
    step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += step()
    return done / (time.perf_counter() - start)


def raw_mpe2(seconds: float) -> float:
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(N=3, local_ratio=0.5, max_cycles=50, continuous_actions=False)
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def step() -> int:
        if not env.agents:
            env.reset()
        env.step({agent: int(rng.integers(5)) for agent in env.agents})
        return 1

    return _rate(step, seconds)


def raw_lbf(num_envs: int, seconds: float) -> float:
    from lbforaging.foraging.environment import ForagingEnv

    envs = [ForagingEnv(**LBF_DEFAULTS) for _ in range(num_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    rng = np.random.default_rng(0)

    def step() -> int:
        for env in envs:
            _, _, done, truncated, _ = env.step(tuple(int(a) for a in rng.integers(6, size=5)))
            if done or truncated:
                env.reset()
        return num_envs

    return _rate(step, seconds)


def batched(name: str, num_envs: int, seconds: float) -> float:
    """Random actions through ``make(name)``: ``step_and_maybe_reset`` as a collector would call it."""
    env = make(name, num_envs, seed=0)
    td = env.reset()

    def step() -> int:
        nonlocal td
        _, td = env.step_and_maybe_reset(env.rand_action(td))
        return num_envs

    rate = _rate(step, seconds)
    env.close()
    return rate


def collector(name: str, num_envs: int, rollout_steps: int, seconds: float) -> float:
    """The TorchRL collector acting with the MAPPO actor (what the pretrain stage runs, updates excluded)."""
    module = MAPPOModule(name, num_envs, rollout_steps, total_frames=1, seed=0)
    env = make(name, num_envs, seed=0)
    stream = iter(make_collector(env, module.actor, rollout_steps))
    rate = _rate(lambda: next(stream).numel(), seconds)
    env.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="timing window per row")
    args = parser.parse_args()
    s = args.seconds
    torch.set_num_threads(2)
    rows: list[tuple[str, float]] = []

    def row(label: str, rate: float) -> None:
        rows.append((label, rate))
        print(f"{label:<48} {rate:>14,.0f}", flush=True)

    print(f"{'what':<48} {'env-steps/s':>14}")
    row("mpe2 raw python loop (1 env)", base := raw_mpe2(s))
    row("mpe_spread_pettingzoo (TorchRL wrapper, 1 env)", batched("mpe_spread_pettingzoo", 1, s))
    for n in (64, 512, 4096):
        row(f"mpe_spread batched, {n} envs", batched("mpe_spread", n, s))
    for n, t in ((512, 50), (4096, 25)):
        row(f"collector + MAPPO actor, mpe_spread {n} envs x {t}", collector("mpe_spread", n, t, s))
    row("lbforaging raw python loop (64 envs)", lbf_base := raw_lbf(64, s))
    row("lbf_lbforaging (EnvBase over lbforaging, 64 envs)", batched("lbf_lbforaging", 64, s))
    for n in (64, 1024, 4096):
        row(f"lbf batched port, {n} envs", batched("lbf", n, s))
    row("collector + MAPPO actor, lbf 1024 envs x 25", collector("lbf", 1024, 25, s))
    rates = dict(rows)
    print()
    print(f"batched mpe_spread 4096 envs / raw mpe2: {rates['mpe_spread batched, 4096 envs'] / base:,.1f}x")
    print(f"batched lbf 1024 envs / raw lbforaging: {rates['lbf batched port, 1024 envs'] / lbf_base:,.1f}x")
    best_collector = max(rates[k] for k in rates if k.startswith("collector + MAPPO actor, mpe_spread"))
    print(f"collector_speedup_vs_raw_mpe2: {best_collector / base:.1f}x")


if __name__ == "__main__":
    main()
