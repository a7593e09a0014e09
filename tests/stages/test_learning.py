"""Slow learning checks on MPE-Spread: they fail when learning breaks, not only when the plumbing does.

One short MAPPO pretrain (module fixture, ~15 s) is shared: pi0 must beat a uniform-random team, and the calibrate
stage's worst case must lower pi0's value clearly below Vmax and below a victim that plays uniformly at random.
A third check, psi_1..psi_K ordered by severity after a short adversarial stage, is not here: in 8 short runs
(256k-1M frames, K=2, up to 105 s) psi_1 was never clearly milder than psi_2 (e.g. 1M frames: 0.79 vs 0.18;
512k: 0.17 vs 0.18), because psi_1 learns faster and collapses too harsh; the full 12M-frame run does order them
(README). It waits for issue 13, which diagnoses psi_1's harshness.

Budgets and margins were measured on the 2-core CI machine over seeds 0-3 (figures in each test's docstring);
learning switched off (``ppo.actor_lr=1e-12`` for pi0, ``game.adversary_lr=1e-12`` for the worst case) or an
advantage with the wrong sign fails them.
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
from batpal.fit import fit
from batpal.stages.trainer import play
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
# the worst case per victim: 40 iterations of 256 envs x 25 steps, each with 10 epochs of 4 minibatches (lr 1e-3,
# no entropy bonus). Many small steps matter: with 1 minibatch (the full run's setting) even 1M frames left some
# victim's Vmin within 5 of Vmax. 500 evaluation episodes: Vmax, Vmin^v and the baselines are within +-2. One
# candidate: this checks that a single search learns (the default keeps the harshest of several).
CALIBRATE = [
    "stages=[calibrate]",
    "calibrate.candidates=1",
    "env.num_envs=256",
    "calibrate.frames=256000",
    "calibrate.iters_per_epoch=10",
    "calibrate.eval_episodes=500",
    "calibrate.ppo.ppo_epochs=10",
    "calibrate.ppo.minibatches=4",
    "game.adversary_lr=1e-3",
    "game.adversary_entropy_coeff=0.0",
]

PI0_MARGIN = 20.0  # return units; measured gap 38-49 over 4 seeds (SE of each mean 1.6-3.0)
VMIN_MARGIN = 8.0  # discounted value; measured Vmax - Vmin^v 13.9-39.5 over 4 seeds, a random victim 0-4
RANDOM_VICTIM_MARGIN = 5.0  # discounted value; measured random victim - Vmin^v 14.3-38.3 over 4 seeds


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
    return play(cfg, policy, episodes, seed)  # the stages' own evaluation of a policy on the config's env


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

    Measured over seeds 0-3: uniform random -171 to -179 (SE ~3); pi0 after 64k frames -125 to -136 (SE ~1.7),
    a gap of 38-49. Broken: ppo.actor_lr=1e-12 gives pi0 -173 (gap 1), a flipped advantage sign -817.
    """
    run_dir, cfg = pi0_run
    pre = json.loads((run_dir / "summary.json").read_text())["pretrain"]
    # the pretrain stage's own evaluation: same seed (cfg.seed + 10_000) and episode count
    random = evaluate(uniform_policy(), cfg, cfg.pretrain.eval_episodes, cfg.seed + 10_000)
    print(
        f"pi0 return {pre['return_mean']:.1f} +- {pre['return_se']:.1f}, "
        f"random {random['return_mean']:.1f} +- {random['return_se']:.1f}"
    )
    assert pre["return_mean"] > random["return_mean"] + PI0_MARGIN, (pre, random)


def test_calibration_adversary_lowers_the_value(pi0_run, tmp_path):
    """The calibrate stage's worst case on each victim v: Vmin^v clearly below Vmax, and clearly below the value
    of pi0 with victim v playing uniformly at random (the adversary must learn more than noise).

    Measured over seeds 0-3: Vmax -103 to -105; Vmin^v -119 to -143 (Vmax - Vmin^v 13.9-39.5); a random victim
    -104 to -109 (-0.4 to 4.1 below Vmax). Broken: game.adversary_lr=1e-12 gives Vmin^v -104 to -106 (fails the first
    assertion); a flipped advantage sign helps pi0 (Vmin above Vmax: the stage itself raises).
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
