"""Atomic artefact writes: the target is its old version or its whole new one, never half of it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

from batpal.atomic import atomic_write, save_weights, savefig_atomic, write_text_atomic
from batpal.summary import Summary

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="killed"), atomic_write(path, "w", newline="") as f:
        f.write("half a new ")
        raise RuntimeError("killed")
    assert path.read_text() == "old\n" and not _leftovers(tmp_path)
    with atomic_write(path, "w", newline="") as f:
        f.write("new\n")
    assert path.read_text() == "new\n" and not _leftovers(tmp_path)


def test_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.json", "{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644  # not mkstemp's 0600


def test_save_weights_writes_plain_data_only(tmp_path):
    path = tmp_path / "pi0.pt"
    save_weights({"state_dict": {"w": torch.ones(2)}, "hidden": [32]}, path)
    assert torch.load(path, weights_only=True)["hidden"] == [32]
    with pytest.raises(TypeError, match=r"pi0.pt\['dims'\] is a numpy.ndarray"):
        save_weights({"dims": np.zeros(2)}, path)
    assert torch.load(path, weights_only=True)["hidden"] == [32]  # refused before anything was written
    assert not _leftovers(tmp_path)


def test_figures_and_summaries_are_written_whole(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    savefig_atomic(fig, tmp_path / "plot.png", dpi=50)
    plt.close(fig)
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")
    summary = Summary(tmp_path / "summary.json")
    summary.write_stage("pretrain", {"frames": 1})
    summary.write_stage("calibrate", {"vmax": -50.0})
    assert summary.read() == {"pretrain": {"frames": 1}, "calibrate": {"vmax": -50.0}}
    with pytest.raises(TypeError):
        summary.write_stage("adversarial", {"bad": object()})  # not JSON: the old summary stays whole
    assert summary.read() == {"pretrain": {"frames": 1}, "calibrate": {"vmax": -50.0}}
    assert not _leftovers(tmp_path)


def test_only_whole_file_modes(tmp_path):
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"), atomic_write(tmp_path / "x", "a"):
        pass
