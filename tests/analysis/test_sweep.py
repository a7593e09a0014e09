"""gather_sweep on hand-written job folders: mean ± SE per K, row order, cross tables, bad sweeps, the script."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from batpal.analysis.sweep import gather_sweep, write_sweep_table
from scripts.gather_sweep import main as gather_main


def _job(
    sweep: Path, name: str, *, seed: int, K: int, base: float, env: str = "mpe_spread", smac: bool = False
) -> Path:
    """A finished job: config.yaml and a summary whose figures are ``base`` (no attack) and ``base - k / 10``."""
    run_dir = sweep / name
    (run_dir / ".hydra").mkdir(parents=True)
    config = {"seed": seed, "run_dir": str(run_dir), "env": {"name": env}, "game": {"K": K, "barrier_lambda": 0.2}}
    config["logger"] = {"csv": {"save_dir": str(run_dir / "metrics")}}  # differs per job, like the real ones
    OmegaConf.save(OmegaConf.create(config), run_dir / "config.yaml")
    OmegaConf.save(OmegaConf.create({"seed": "${oc.env:NOPE}"}), run_dir / ".hydra" / "config.yaml")  # ignored

    def entry(value: float) -> dict:
        if smac:
            return {"return_mean": 3.0, "return_normalized": None, "win_rate": value}
        return {"return_mean": -50.0, "return_normalized": value}

    adversarial = {"K": K, "no_attack": entry(base)}
    for k in range(1, K + 1):
        adversarial[f"psi_{k}"] = {
            "defender": entry(base - k / 10),
            "pi0": entry(base - k / 5),
            "severity": (k - 0.5) / K + seed / 100,
        }
    (run_dir / "summary.json").write_text(json.dumps({"pretrain": {}, "adversarial": adversarial}))
    return run_dir


def _cross_table(run_dir: Path, rows: list[tuple[str, str, str]]) -> None:
    """A batpal.evaluate run inside the job: cross_table.csv (attack, defender, return_normalized)."""
    out = run_dir / "evaluate"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"evaluate": {}}))
    OmegaConf.save(OmegaConf.create({"seed": 99}), out / "config.yaml")
    with open(out / "cross_table.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["attack", "defender", "episodes", "return_normalized", "win_rate"])
        writer.writerows([(a, d, 50, v, "") for a, d, v in rows])


def test_mean_and_standard_error_per_K(tmp_path: Path) -> None:
    for seed, base in ((1, 0.9), (2, 0.7), (3, 0.8)):
        _job(tmp_path, f"game.K=3,seed={seed}", seed=seed, K=3, base=base)
    for seed, base in ((1, 1.0), (2, 0.6)):
        _job(tmp_path, f"game.K=4,seed={seed}", seed=seed, K=4, base=base)
    (tmp_path / "crashed").mkdir()
    OmegaConf.save(OmegaConf.create({"seed": 4}), tmp_path / "crashed" / "config.yaml")  # no summary
    table = gather_sweep(tmp_path)
    assert table.columns == [3, 4] and table.jobs == {3: 3, 4: 2}
    assert table.unfinished == [tmp_path / "crashed"]
    assert table.rows == [
        "No attack",
        *(f"Severity {k}: eta" for k in range(1, 5)),
        *(f"Severity {k}: defender" for k in range(1, 5)),
        *(f"Severity {k}: pi0" for k in range(1, 5)),
    ]
    mean, se, n = table.cell("No attack", 3)
    assert n == 3 and mean == pytest.approx(0.8) and se == pytest.approx(0.1 / math.sqrt(3))
    mean, se, n = table.cell("Severity 2: defender", 4)
    assert n == 2 and mean == pytest.approx(0.6) and se == pytest.approx(0.2)
    assert table.cell("Severity 4: pi0", 3)[2] == 0  # K = 3 has no psi_4
    assert table.cell("Severity 1: eta", 3)[0] == pytest.approx(0.5 / 3 + 0.02)

    csv_path, md_path = write_sweep_table(table, tmp_path)
    md = md_path.read_text()
    assert "| attack | game.K=3 (n=3) | game.K=4 (n=2) |" in md
    assert "| No attack | 0.80 ± 0.06 | 0.80 ± 0.20 |" in md
    assert "| Severity 4: defender |  | 0.40 ± 0.20 |" in md
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:4] == ["attack", "game.K=3 mean", "game.K=3 se", "game.K=3 n"]
    assert rows[1][0] == "No attack" and float(rows[1][1]) == pytest.approx(0.8) and rows[1][3] == "3"


def test_cross_table_attacks_become_rows(tmp_path: Path) -> None:
    for seed in (1, 2):
        job = _job(tmp_path, f"seed={seed}", seed=seed, K=2, base=0.9)
        _cross_table(job, [("ACT", "BATPAL", str(0.5 + seed / 10)), ("DYN-1", "BATPAL", "0.4")])
    _cross_table(_job(tmp_path, "seed=3", seed=3, K=2, base=0.9), [("ACT", "BATPAL", "0.7"), ("ACT", "MAPPO", "0.2")])
    table = gather_sweep(tmp_path)
    assert table.jobs == {2: 3}  # the evaluate folders are not jobs
    assert table.rows[-4:] == ["ACT", "DYN-1", "ACT vs BATPAL", "ACT vs MAPPO"]
    assert table.cell("ACT", 2)[:3] == pytest.approx((0.65, 0.05, 2))
    assert table.cell("DYN-1", 2)[2] == 2 and "(n=2)" in table.to_markdown()
    assert table.cell("ACT vs MAPPO", 2)[0] == pytest.approx(0.2)


def test_win_rates_on_smac(tmp_path: Path) -> None:
    _job(tmp_path, "a", seed=1, K=2, base=0.9, env="smac_2s3z", smac=True)
    table = gather_sweep(tmp_path)
    assert table.metric == "win rate" and table.cell("Severity 2: defender", 2)[0] == pytest.approx(0.7)
    assert math.isnan(table.cell("No attack", 2)[1])  # one seed: no standard error
    assert "| No attack | 0.90 |" in table.to_markdown()


def test_jobs_of_different_experiments_are_refused(tmp_path: Path) -> None:
    _job(tmp_path, "a", seed=1, K=2, base=0.9)
    _job(tmp_path, "b", seed=2, K=2, base=0.9, env="lbf")
    with pytest.raises(ValueError, match="env.name"):
        gather_sweep(tmp_path)
    assert gather_sweep(tmp_path, by="env.name").columns == ["lbf", "mpe_spread"]
    with pytest.raises(FileNotFoundError, match="no finished job"):
        gather_sweep(tmp_path / "a" / ".hydra")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gather_sweep(tmp_path / "nowhere")


def test_script_prints_and_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _job(tmp_path / "sweep", "seed=1", seed=1, K=2, base=0.9)
    gather_main([str(tmp_path / "sweep"), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "| No attack | 0.90 |" in out and "wrote" in out
    assert (tmp_path / "sweep_table.csv").is_file() and (tmp_path / "sweep_table.md").is_file()
