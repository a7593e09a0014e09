"""BATPAL's wall-clock per world-1 frame against MAPPO's, same env, same world-1 batch, same PPO epochs.

MAPPO: ``E`` envs x ``T`` steps per iteration. BATPAL: ``2E`` envs (``E`` in world 1, ``E`` in world 0), so both
collect ``E x T`` world-1 frames per iteration; BATPAL also steps world 0, runs the belief GRU, two critics and
psi_k. Times are the LightningModules' own ``wall_s`` (collection + updates), from ``summary.json``.

    python benchmarks/overhead.py [--envs 256] [--iterations 40]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from batpal.fit import fit

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def run(overrides: list[str], run_dir: Path) -> dict:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("fit", overrides=[*overrides, f"run_dir={run_dir}", "trainer.enable_progress_bar=false"])
    return fit(cfg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", type=int, default=256, help="world-1 envs (MAPPO's envs)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    e, t, it = args.envs, args.steps, args.iterations
    common = [
        "experiment=mpe_spread",
        f"algo.rollout_steps={t}",
        f"algo.ppo_epochs={args.epochs}",
        "algo.minibatches=1",
        f"game.ppo_epochs={args.epochs}",
        "game.minibatches=1",
        "~logger",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        mappo = run(
            [
                *common,
                f"env.num_envs={e}",
                f"pretrain.frames={e * t * it}",
                "pretrain.iters_per_epoch=10",
                "pretrain.eval_episodes=10",
                "stages=[pretrain]",
            ],
            Path(tmp) / "mappo",
        )["pretrain"]
        batpal = run(
            [
                *common,
                f"env.num_envs={2 * e}",
                f"pretrain.frames={2 * e * t}",
                "pretrain.eval_episodes=10",
                "calibrate.frames=1",
                "calibrate.eval_episodes=10",
                "game.vmin=-1000",
                f"adversarial.frames={2 * e * t * it}",
                "adversarial.iters_per_epoch=10",
                "adversarial.eval_episodes=2",
            ],
            Path(tmp) / "batpal",
        )["adversarial"]
    mappo_per = mappo["wall_s"] / mappo["frames"]
    world1 = batpal["frames"] * 0.5
    batpal_per = batpal["wall_s"] / world1
    print(f"{'method':<8} {'envs':>6} {'world-1 frames':>15} {'wall_s':>8} {'us / world-1 frame':>19}")
    print(f"{'MAPPO':<8} {e:>6} {mappo['frames']:>15,} {mappo['wall_s']:>8.1f} {1e6 * mappo_per:>19.1f}")
    print(f"{'BATPAL':<8} {2 * e:>6} {int(world1):>15,} {batpal['wall_s']:>8.1f} {1e6 * batpal_per:>19.1f}")
    print(json.dumps({"paper_table8_mpe": 4.21}))
    print(f"batpal_over_mappo_per_world1_frame: {batpal_per / mappo_per:.2f}x")


if __name__ == "__main__":
    main()
