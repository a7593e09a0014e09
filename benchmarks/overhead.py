"""BATPAL's wall-clock per world-1 frame against MAPPO's, same env, same world-1 batch, same PPO epochs.

MAPPO: ``E`` envs x ``T`` steps per iteration. BATPAL: ``E / f`` envs, ``E`` in world 1 and the rest in world 0
(f = ``game.world1_fraction`` of the experiment, 0.5 in the paper), so both collect ``E x T`` world-1 frames per
iteration; BATPAL also steps world 0, runs the belief GRU, two critics and psi_k. Times are the LightningModules'
own ``wall_s`` (collection + updates), from ``summary.json``. ``--repeats R`` alternates the two R times and
compares medians (a shared machine's noise is +-10% per run). Extra hydra overrides for BATPAL go after ``--``.

    python benchmarks/overhead.py [--envs 256] [--iterations 40] [--repeats 3] [-- game.world1_fraction=0.5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from batpal.fit import fit

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def config(overrides: list[str], run_dir: Path):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("fit", overrides=[*overrides, f"run_dir={run_dir}", "trainer.enable_progress_bar=false"])


def run_configs(
    envs: int, steps: int, epochs: int, iterations: int, batpal_overrides: list[str]
) -> tuple[list[str], list[str], int, float]:
    """Overrides of the MAPPO run and the BATPAL run, BATPAL's env count and its world-1 fraction."""
    common = [
        "experiment=mpe_spread",
        f"ppo.rollout_steps={steps}",
        f"ppo.ppo_epochs={epochs}",
        "ppo.minibatches=1",
        f"adversarial.ppo.ppo_epochs={epochs}",
        "adversarial.ppo.minibatches=1",
        "~logger",
    ]
    mappo = [
        *common,
        f"env.num_envs={envs}",
        f"pretrain.frames={envs * steps * iterations}",
        "pretrain.iters_per_epoch=10",
        "pretrain.eval_episodes=10",
        "stages=[pretrain]",
    ]
    fraction = float(config([*common, *batpal_overrides], Path(".")).game.world1_fraction)
    total = round(envs / fraction)  # world 1 holds round(total * fraction) = envs
    batpal = [
        *common,
        f"env.num_envs={total}",
        f"pretrain.frames={total * steps}",
        "pretrain.eval_episodes=10",
        "calibrate.frames=1",
        "calibrate.eval_episodes=10",
        "game.vmin=-1000",
        f"adversarial.frames={total * steps * iterations}",
        "adversarial.iters_per_epoch=10",
        "adversarial.eval_episodes=2",
        *batpal_overrides,
    ]
    return mappo, batpal, total, fraction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=256, help="world-1 envs (MAPPO's envs)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="alternate MAPPO and BATPAL runs; medians compared")
    parser.add_argument("batpal_overrides", nargs="*", help="hydra overrides for BATPAL only, e.g. game.K=3")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    e, t, it = args.envs, args.steps, args.iterations
    mappo_cfg, batpal_cfg, total, fraction = run_configs(e, t, args.epochs, it, args.batpal_overrides)
    mappo_s, batpal_s = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            mappo = fit(config(mappo_cfg, Path(tmp) / "mappo"))["pretrain"]
            batpal = fit(config(batpal_cfg, Path(tmp) / "batpal"))["adversarial"]
        mappo_s.append(mappo["wall_s"])
        batpal_s.append(batpal["wall_s"])
        print(f"run {len(mappo_s)}: MAPPO {mappo['wall_s']:.1f} s, BATPAL {batpal['wall_s']:.1f} s", flush=True)
    mappo = {"wall_s": statistics.median(mappo_s), "frames": mappo["frames"]}
    batpal = {"wall_s": statistics.median(batpal_s)}
    mappo_per = mappo["wall_s"] / mappo["frames"]
    world1 = e * t * it
    batpal_per = batpal["wall_s"] / world1
    print(f"{'method':<8} {'envs':>6} {'world-1 frames':>15} {'wall_s':>8} {'us / world-1 frame':>19}")
    print(f"{'MAPPO':<8} {e:>6} {mappo['frames']:>15,} {mappo['wall_s']:>8.1f} {1e6 * mappo_per:>19.1f}")
    print(f"{'BATPAL':<8} {total:>6} {world1:>15,} {batpal['wall_s']:>8.1f} {1e6 * batpal_per:>19.1f}")
    settings = {"paper_table8_mpe": 4.21, "world1_fraction": fraction, "batpal_overrides": args.batpal_overrides}
    print(json.dumps(settings))
    print(f"batpal_over_mappo_per_world1_frame: {batpal_per / mappo_per:.2f}x")


if __name__ == "__main__":
    main()
