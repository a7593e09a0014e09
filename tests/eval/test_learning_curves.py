"""Training curves from metrics CSVs: resumed logs merged, a restarted stage superseding the old rows."""

from __future__ import annotations

from pathlib import Path

from batpal.eval.learning_curves import plot_learning_curves, read_stage, smooth


def _log(run_dir: Path, name: str, rows: list[tuple[float, str]], column: str = "train/return") -> None:
    path = run_dir / "metrics" / name / "metrics.csv"
    path.parent.mkdir(parents=True)
    lines = [f"epoch,frames,step,{column},wall_s"] + [f"0,{x},0,{y},0.1" for x, y in rows]
    path.write_text("\n".join(lines) + "\n")


def test_resumed_logs_continue_and_restarts_supersede(tmp_path):
    _log(tmp_path, "pretrain", [(100, "-9"), (200, ""), (300, "-7")])
    _log(tmp_path, "pretrain-resumed1", [(400, "-6"), (500, "-5")])  # a resume: continues
    _log(tmp_path, "pretrain-resumed2", [(300, "-4"), (600, "-3")])  # starts at 300: replaces 300 onwards
    _log(tmp_path, "pretrainX", [(1, "0")])  # not a log of this stage
    assert read_stage(tmp_path, "pretrain") == {"train/return": [(100.0, -9.0), (300.0, -4.0), (600.0, -3.0)]}
    assert read_stage(tmp_path, "adversarial") == {}


def test_every_return_column_is_a_curve_and_the_figure_is_written(tmp_path):
    _log(tmp_path, "adversarial", [(10, "-1"), (20, "-2")], column="train/return/psi_1")
    assert read_stage(tmp_path, "adversarial") == {"train/return/psi_1": [(10.0, -1.0), (20.0, -2.0)]}
    plot_learning_curves([("A", tmp_path), ("empty", tmp_path / "none")], tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_smooth_is_a_trailing_mean():
    assert smooth([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]
