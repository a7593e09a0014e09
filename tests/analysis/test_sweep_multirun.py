"""A real Hydra multirun of ``python -m batpal.fit -m``: 2 seeds x 2 K, each job in its own run dir, then the
sweep's table from ``scripts/gather_sweep.py``.

The tiny budgets come in as one config group ``+tiny=sweep`` (written to a temporary search path); the job
folders are named by the swept keys alone, as a user's sweep gets them: ``game.K=2,seed=1``. Both
commands run in children of the session's zygote (``tests/zygote.py``: a fresh interpreter that has imported the
package once), each exactly as from a shell.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from batpal.analysis.sweep import gather_sweep
from tests.conftest import GAME, TINY
from tests.zygote import REPO, zygote

# one iteration per stage, one worst-case search per victim, 25-step episodes (half the evaluation): the table's
# figures are whatever the jobs measured, whatever their size
FASTER = [
    "pretrain.frames=400",
    "pretrain.iters_per_epoch=1",
    "calibrate.frames=400",
    "calibrate.candidates=1",
    "adversarial.frames=400",
    "env.kwargs.max_steps=25",
    "env.max_episode_steps=25",
]
SEEDS, KS = (1, 2), (2, 3)


def _tiny_group(root: Path) -> Path:
    """``<root>/tiny/sweep.yaml``: the tiny pipeline's overrides as a global config group."""
    group = root / "tiny"
    group.mkdir(parents=True)
    values = OmegaConf.to_yaml(OmegaConf.from_dotlist([*TINY, *GAME, *FASTER]))
    (group / "sweep.yaml").write_text("# @package _global_\n" + values)
    return root


def _run(command: str, argv: list[str], log: Path) -> subprocess.CompletedProcess:
    """``python -m <command> *argv`` (``command`` a module, or a script), its output in ``log``."""
    return zygote().run(command, argv, log, timeout=240)


@pytest.mark.slow  # end to end, over 30 s
def test_multirun_gives_each_job_its_run_dir_and_the_table_gathers_them(tmp_path: Path) -> None:
    search, sweep = _tiny_group(tmp_path / "configs"), tmp_path / "sweep"
    fit = _run(
        "batpal.fit",
        [
            "-m",
            "experiment=mpe_spread",
            "+tiny=sweep",
            f"seed={','.join(map(str, SEEDS))}",
            f"game.K={','.join(map(str, KS))}",
            f"hydra.searchpath=[file://{search}]",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path / "fit.log",
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    jobs = {f"game.K={K},seed={s}": (s, K) for s in SEEDS for K in KS}  # the swept keys name the folders
    assert {p.name for p in sweep.iterdir() if p.is_dir()} == set(jobs)
    figures: dict[tuple[int, int], dict] = {}
    for name, (seed, K) in jobs.items():
        run_dir = sweep / name
        config = OmegaConf.load(run_dir / "config.yaml")
        assert (config.seed, config.game.K, config.run_dir) == (seed, K, str(run_dir))
        assert config.adversarial.frames == 400 and config.model.hidden == [32, 32]  # the tiny group applied
        summary = json.loads((run_dir / "summary.json").read_text())
        assert set(summary) == {"pretrain", "calibrate", "adversarial"} and summary["adversarial"]["K"] == K
        assert (run_dir / "defender.pt").is_file() and (run_dir / "checkpoints" / "last.ckpt").is_file()
        figures[seed, K] = summary["adversarial"]

    table = gather_sweep(sweep)
    assert table.columns == list(KS) and table.jobs == {K: len(SEEDS) for K in KS}
    assert "Severity 3: defender" in table.rows and table.cell("Severity 3: defender", 2)[2] == 0
    for K in KS:  # each cell is the mean over the seeds of that K's jobs
        no_attack = [figures[s, K]["no_attack"]["return_normalized"] for s in SEEDS]
        assert table.cell("No attack", K)[0] == pytest.approx(sum(no_attack) / len(SEEDS))
        eta = [figures[s, K][f"psi_{K}"]["severity"] for s in SEEDS]
        assert table.cell(f"Severity {K}: eta", K)[:3] == pytest.approx((sum(eta) / 2, abs(eta[0] - eta[1]) / 2, 2))

    script = _run(str(REPO / "scripts" / "gather_sweep.py"), [str(sweep)], tmp_path / "gather.log")
    assert script.returncode == 0, script.stderr[-3000:]
    assert "| attack | game.K=2 (n=2) | game.K=3 (n=2) |" in script.stdout
    assert (sweep / "sweep_table.csv").is_file() and (sweep / "sweep_table.md").read_text() in script.stdout
