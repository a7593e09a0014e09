"""Training curves from metrics CSVs: resumed logs merged, a restarted stage superseding the old rows."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from batpal.eval.learning_curves import learning_curves_figure, plot_learning_curves, read_stage, smooth


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


def _run(run_dir: Path, shift: float) -> Path:
    """A fake finished MPE run: config, summary frames, and each stage's training (and eval) returns."""
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("env:\n  name: mpe_spread\n")
    (run_dir / "summary.json").write_text(json.dumps({s: {"frames": f} for s, f in FRAMES.items()}))
    _log(run_dir, "pretrain", [(50, str(-150 + shift)), (100, str(-120 + shift))])
    _log(run_dir, "calibrate", [(20, str(-170 + shift)), (40, str(-180 + shift))])
    _log(run_dir, "adversarial", [(100, str(-110 + shift)), (200, str(-100 + shift))], column="eval/return/no_attack")
    return run_dir


FRAMES = {"pretrain": 100, "calibrate": 40, "adversarial": 200}


def test_panels_share_axes_show_normalised_returns_stage_lines_and_seed_bands(tmp_path):
    seeds = [_run(tmp_path / "s0", 0.0), _run(tmp_path / "s1", 10.0)]
    fig = learning_curves_figure([("BATPAL", seeds), ("MAPPO", [seeds[0]])])
    two, one = fig.axes[:2]
    assert two.get_shared_x_axes().joined(two, one) and two.get_shared_y_axes().joined(two, one)
    starts = {line.get_gid(): line.get_xdata()[0] for line in two.lines if line.get_gid()}
    assert starts == {"stage:pretrain": 0, "stage:calibrate": 100, "stage:adversarial": 140}  # end to end
    curves = {line.get_label(): line for line in one.lines if line.get_gid() is None}
    evals = curves["adversarial: eval no_attack"]
    assert list(evals.get_xdata()) == [240, 340]  # the adversarial stage starts after pretrain + calibrate
    assert list(evals.get_ydata()) == pytest.approx([(-110 + 189) / 142, (-100 + 189) / 142])  # like the heatmap
    mean = {line.get_label(): line for line in two.lines if line.get_gid() is None}["adversarial: eval no_attack"]
    assert list(mean.get_ydata()) == pytest.approx([(-105 + 189) / 142, (-95 + 189) / 142])  # mean of two seeds
    bands = [c for c in two.collections if str(c.get_gid()).startswith("band:")]
    assert len(bands) == 3 and not [c for c in one.collections if str(c.get_gid()).startswith("band:")]
    band = next(c for c in bands if c.get_gid() == "band:adversarial:eval/return/no_attack")
    ys = band.get_paths()[0].vertices[:, 1]
    assert min(ys) == pytest.approx((-110 + 189) / 142) and max(ys) == pytest.approx((-90 + 189) / 142)  # min-max
    assert "2 runs" in two.get_title() and two.get_ylabel() == "normalised return"
    plt.close(fig)
