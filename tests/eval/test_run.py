"""``batpal.eval.run``: the cross table's numbers and files, and every input error raised before any episode."""

from __future__ import annotations

import csv
import json
import math
import shutil

import pytest
from omegaconf import OmegaConf

from batpal.eval.run import evaluate
from tests.eval.conftest import compose_evaluate, copy_run

PNG = b"\x89PNG"


def test_cross_table_files_and_numbers(game_run, mappo_run, tmp_path):
    user = "import torch\n\ndef left(obs):\n    return torch.ones(len(obs), dtype=torch.long)\n"
    (tmp_path / "mine.py").write_text(user)
    out = tmp_path / "eval"
    cfg = compose_evaluate(
        "experiment=mpe_spread",
        f"defenders=[{game_run},'pi0 only={mappo_run}']",
        f"attacks=[none,random,severity_1,{tmp_path}/mine.py:left]",
        "episodes=3",
        "env.eval_envs=4",  # 9 episodes per attacked cell: chunks of 4, 4, 4 (the last keeps 1)
        f"run_dir={out}",
    )
    figures = evaluate(cfg)
    rows = list(csv.DictReader(open(out / "cross_table.csv")))
    assert [(r["attack"], r["defender"]) for r in rows] == [
        (a, d) for a in ("No attack", "Random", "Severity 1", "left") for d in ("BATPAL", "pi0 only")
    ]
    assert [int(r["episodes"]) for r in rows] == [3, 3] + [9] * 6  # no attack: no victim; else 3 victims x 3
    for r in rows:
        assert float(r["return_normalized"]) == pytest.approx((float(r["return_mean"]) + 189) / 142, rel=1e-5)
        assert float(r["return_normalized_se"]) == pytest.approx(float(r["return_se"]) / 142, rel=1e-5)
        assert r["win_rate"] == ""  # MPE reports returns, not wins
    for name in ("cross_table.png", "learning_curves.png"):
        assert (out / name).read_bytes()[:4] == PNG
    summary = json.loads((out / "summary.json").read_text())["evaluate"]
    assert summary["wall_s"] > 0 and summary["metric"] == "normalised return"
    assert summary["table"]["Random"]["pi0 only"] == pytest.approx(float(rows[3]["return_normalized"]))
    assert figures["defenders"] == {"BATPAL": str(game_run), "pi0 only": str(mappo_run)}
    assert OmegaConf.load(out / "config.yaml").episodes == 3


def _fails(tmp_path, match, *overrides, error=ValueError):
    out = tmp_path / "never"
    with pytest.raises(error, match=match):
        evaluate(compose_evaluate("experiment=mpe_spread", "episodes=2", f"run_dir={out}", *overrides))
    assert not out.exists()  # nothing computed, nothing written


def test_errors_come_before_any_compute(game_run, mappo_run, tmp_path):
    ok = f"defenders=[{game_run}]"
    _fails(tmp_path, "unknown attack 'sev_1'; known: none, random, noop, severity_1", ok, "attacks=[none,sev_1]")
    _fails(tmp_path, "attack file .*gone.py", ok, f"attacks=[{tmp_path}/gone.py:fn]", error=FileNotFoundError)
    (tmp_path / "a.py").write_text("x = 1\n")
    _fails(tmp_path, "'x' is a int, not a callable", ok, f"attacks=[{tmp_path}/a.py:x]", error=TypeError)
    (tmp_path / "blank").mkdir()
    _fails(tmp_path, "blank has no config.yaml", f"defenders=[{tmp_path / 'blank'}]", error=FileNotFoundError)
    _fails(tmp_path, "no defenders given", "defenders=[]")
    _fails(tmp_path, "experiment plays 'lbf'", ok, "env=lbf")


def test_defenders_of_different_envs_are_refused(game_run, mappo_run, tmp_path):
    other = tmp_path / "short"
    shutil.copytree(mappo_run, other)
    cfg = OmegaConf.load(other / "config.yaml")
    cfg.env.max_episode_steps = 25
    OmegaConf.save(cfg, other / "config.yaml")
    _fails(tmp_path, "defenders play different envs: BATPAL", f"defenders=[{game_run},{other}]")


def test_repeated_labels_become_unique(game_run, tmp_path):
    out = tmp_path / "eval"
    figures = evaluate(
        compose_evaluate(f"defenders=[{game_run},{game_run}]", "attacks=[noop]", "episodes=1", f"run_dir={out}")
    )
    assert list(figures["defenders"]) == ["BATPAL", "BATPAL (batpal)"]


def test_unfinished_or_weightless_runs_are_refused_before_any_compute(game_run, tmp_path):
    interrupted = copy_run(game_run, tmp_path / "interrupted", done=["pretrain", "calibrate"])
    _fails(
        tmp_path,
        rf"defender run {interrupted} is unfinished: it has not finished stage\(s\) \['adversarial'\]",
        f"defenders=[{interrupted}]",
    )
    weightless = copy_run(game_run, tmp_path / "weightless", drop=["defender.pt"])
    _fails(tmp_path, "has no defender.pt", f"defenders=[{weightless}]", error=FileNotFoundError)


def _files(directory):
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_an_existing_evaluation_is_never_overwritten_unless_asked(mappo_run, tmp_path):
    out = tmp_path / "eval"
    args = ("experiment=mpe_spread", f"defenders=[{mappo_run}]", "attacks=[noop]", "episodes=1", f"run_dir={out}")
    evaluate(compose_evaluate(*args))
    before = _files(out)
    assert {"cross_table.csv", "summary.json", "config.yaml"} <= {str(p) for p in before}
    with pytest.raises(FileExistsError, match=rf"run_dir {out} already holds evaluation outputs .*overwrite=true"):
        evaluate(compose_evaluate(*args, "episodes=2"))
    assert _files(out) == before  # byte for byte
    figures = evaluate(compose_evaluate(*args, "episodes=2", "overwrite=true"))
    assert figures["complete"] and figures["episodes_per_victim"] == 2
    assert json.loads((out / "summary.json").read_text())["evaluate"]["episodes_per_victim"] == 2
    assert [r["episodes"] for r in csv.DictReader(open(out / "cross_table.csv"))] == ["6"]  # 3 victims x 2


def test_a_training_run_is_never_an_output_dir(mappo_run, tmp_path):
    run = copy_run(mappo_run, tmp_path / "run")
    before = _files(run)
    for overwrite in ("false", "true"):
        with pytest.raises(FileExistsError, match=rf"run_dir {run} is a training run directory \(it holds pi0.pt\)"):
            evaluate(
                compose_evaluate(
                    f"defenders=[{mappo_run}]", "attacks=[noop]", f"run_dir={run}", f"overwrite={overwrite}"
                )
            )
    assert _files(run) == before


FAILS_LATER = """
import torch

def floats(obs):
    return torch.zeros(len(obs))             # float actions: refused, never truncated

def boom(obs):
    raise RuntimeError("my attack broke")
"""


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [("floats", TypeError, "dtype torch.float32"), ("boom", RuntimeError, "my attack broke")],
)
def test_a_failing_later_cell_keeps_the_cells_already_played(game_run, mappo_run, tmp_path, name, error, match):
    (tmp_path / "late.py").write_text(FAILS_LATER)
    out = tmp_path / "eval"
    cfg = compose_evaluate(
        "experiment=mpe_spread",
        f"defenders=[{mappo_run},{game_run}]",
        f"attacks=[none,noop,{tmp_path}/late.py:{name},random]",
        "episodes=1",
        f"run_dir={out}",
    )
    with pytest.raises(error, match=match) as caught:
        evaluate(cfg)
    assert f"while playing attack '{name}' against defender 'MAPPO'" in "".join(caught.value.__notes__)
    rows = list(csv.DictReader(open(out / "cross_table.csv")))
    played = [(a, d) for a in ("No attack", "No-op") for d in ("MAPPO", "BATPAL")]
    assert [(r["attack"], r["defender"]) for r in rows] == played
    assert all(math.isfinite(float(r["return_normalized"])) for r in rows)  # the played cells' numbers
    summary = json.loads((out / "summary.json").read_text())["evaluate"]
    assert summary["complete"] is False and summary["cells_played"] == 4 and summary["cells_total"] == 8
    assert summary["failed_cell"] == {"attack": name, "defender": "MAPPO"}
    assert match in summary["error"] and summary["error"].startswith(error.__name__)
    assert set(summary["table"]) == {"No attack", "No-op"}
    assert not (out / "cross_table.png").exists()  # the figures belong to a complete table
