"""Slow learning checks on MPE-Spread: they fail when learning breaks, not only when the plumbing does.

One short MAPPO pretrain (module fixture, ~15 s) is shared: pi0 must beat a uniform-random team, and the calibrate
stage's worst case must lower pi0's value clearly below Vmax and below a victim that plays uniformly at random.

Budgets and margins were measured on the 2-core CI machine (figures in each test's docstring); a run with learning
switched off (``ppo.actor_lr=1e-12`` for pi0, ``game.adversary_lr=1e-12`` for the worst case) fails them.
Run with ``pytest -m slow tests/stages/test_learning.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from tensordict.nn import TensorDictModule, TensorDictSequential

from batpal.artifacts import REFERENCE_POLICY, load_reference_policy
from batpal.eval import evaluate_policy
from batpal.fit import fit
from tests.conftest import compose_config

pytestmark = pytest.mark.slow

AGENTS = "agents"
BASE = ["experiment=mpe_spread", "model.hidden=[64,64]", "trainer.enable_progress_bar=false"]
# pi0: 40 iterations of 64 envs x 25 steps, 10 PPO epochs each (the experiment's lr 7e-4)
PRETRAIN = [
    "stages=[pretrain]",
    "env.num_envs=64",
    "pretrain.frames=64000",
    "pretrain.iters_per_epoch=10",
    "pretrain.eval_episodes=300",
]
# the worst case per victim: 80 iterations of 256 envs x 25 steps; a faster adversary than the full run's
# (lr 3e-3, no entropy bonus, 10 epochs), and 1000 evaluation episodes so that Vmax / Vmin^v are tight (+-1.5)
CALIBRATE = [
    "stages=[calibrate]",
    "env.num_envs=256",
    "calibrate.frames=512000",
    "calibrate.iters_per_epoch=20",
    "calibrate.eval_episodes=1000",
    "calibrate.ppo.ppo_epochs=10",
    "game.adversary_lr=3e-3",
    "game.adversary_entropy_coeff=0.0",
]

PI0_MARGIN = 20.0  # return units; measured gap 38-45 (random -172 +- 3.5 SE, pi0 -127 to -134 +- 2)
VMIN_MARGIN = 5.0  # discounted value units; measured gap to Vmax 13-18 per victim (+-1.5 each)
RANDOM_VICTIM_MARGIN = 3.0  # discounted value units; measured gap 10-16 per victim


def _uniform(mask: torch.Tensor) -> torch.Tensor:
    """A uniformly random allowed action per agent: [.., N, A] bool -> [.., N]."""
    return torch.multinomial(mask.flatten(0, -2).float(), 1).view(mask.shape[:-1])


def uniform_policy() -> TensorDictModule:
    """Every agent plays uniformly at random among its allowed actions."""
    return TensorDictModule(_uniform, in_keys=[(AGENTS, "action_mask")], out_keys=[(AGENTS, "action")])


def random_victim(team: TensorDictModule, victim: int) -> TensorDictSequential:
    """``team`` for every agent but ``victim``, which plays uniformly at random."""

    def overwrite(action: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        action = action.clone()
        action[..., victim] = _uniform(mask[..., victim : victim + 1, :]).squeeze(-1)
        return action

    keys = [(AGENTS, "action"), (AGENTS, "action_mask")]
    return TensorDictSequential(team, TensorDictModule(overwrite, in_keys=keys, out_keys=[(AGENTS, "action")]))


def evaluate(policy, cfg: DictConfig, episodes: int, seed: int):
    return evaluate_policy(
        policy,
        cfg.env.name,
        episodes,
        seed=seed,
        gamma=cfg.ppo.gamma,
        max_episode_steps=cfg.env.max_episode_steps,
    ).summary()


def from_pi0(pi0_dir: Path, run_dir: Path) -> Path:
    """A new run directory holding the shared run's pi0 and summary, for a later stage to start from."""
    run_dir.mkdir(parents=True)
    for name in (REFERENCE_POLICY, "summary.json"):
        shutil.copy(pi0_dir / name, run_dir / name)
    return run_dir


@pytest.fixture(scope="module")
def pi0_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DictConfig]:
    """A finished short MAPPO pretrain on MPE-Spread: its run directory and config."""
    cfg = compose_config([*BASE, *PRETRAIN], tmp_path_factory.mktemp("learning") / "pi0")
    fit(cfg)
    return Path(cfg.run_dir), cfg


def test_pi0_beats_random_play(pi0_run):
    """pi0's mean return (300 episodes) beats a uniform-random team's on the same starts by PI0_MARGIN.

    Measured: uniform random -170 to -182 (SE 3-4); pi0 after 64k frames -127 / -134 (seeds 0 / 1, SE ~2).
    """
    run_dir, cfg = pi0_run
    pre = json.loads((run_dir / "summary.json").read_text())["pretrain"]
    # the pretrain stage's own evaluation: same seed (cfg.seed + 10_000) and episode count
    random = evaluate(uniform_policy(), cfg, cfg.pretrain.eval_episodes, cfg.seed + 10_000)
    print(f"pi0 return {pre['return_mean']:.1f} +- {pre['return_se']:.1f}, "
          f"random {random['return_mean']:.1f} +- {random['return_se']:.1f}")
    assert pre["return_mean"] > random["return_mean"] + PI0_MARGIN, (pre, random)


def test_calibration_adversary_lowers_the_value(pi0_run, tmp_path):
    """The calibrate stage's worst case on each victim v: Vmin^v clearly below Vmax, and clearly below the value
    of pi0 with victim v playing uniformly at random (the adversary must learn more than noise).

    Measured (seed 0 pi0): Vmax -103 +- 1.4; Vmin^v -116 / -119 / -121 +- 1.6; random victim -102 to -106.
    """
    pi0_dir, _ = pi0_run
    cfg = compose_config([*BASE, *CALIBRATE], from_pi0(pi0_dir, tmp_path / "calibrate"))
    assert cfg.game.vmin is None and cfg.game.vmax is None  # its own Vmax / Vmin path
    cal = fit(cfg)["calibrate"]
    assert cal["source"] == "calibrated"
    pi0, _ = load_reference_policy(pi0_dir / REFERENCE_POLICY)
    vmax, vmin = cal["vmax"], cal["vmin"]
    random = [
        evaluate(random_victim(pi0, v), cfg, cfg.calibrate.eval_episodes, cfg.seed + 21_000 + v)["value_mean"]
        for v in range(len(vmin))
    ]
    print(f"Vmax {vmax:.1f}, Vmin {[round(x, 1) for x in vmin]}, random victim {[round(x, 1) for x in random]}")
    for v, low in enumerate(vmin):
        assert low < vmax - VMIN_MARGIN, (v, vmax, vmin)
        assert low < random[v] - RANDOM_VICTIM_MARGIN, (v, vmin, random)
