"""notebooks/belief_trajectories.ipynb runs headless (nbclient) on a tiny finished run and draws its figures."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "belief_trajectories.ipynb"


@pytest.mark.slow  # end to end, over 30 s
def test_notebook_runs_on_a_tiny_run_and_plots(game_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATPAL_RUN_DIR", str(game_run))  # the kernel inherits this process's environment
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and "BATPAL_RUN_DIR" in parameters[0].source
    at = nb.cells.index(parameters[0]) + 1
    nb.cells.insert(at, nbformat.v4.new_code_cell("EPISODES = 4  # injected by the test, as papermill would"))
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert str(game_run) in text and "K = 4 severities" in text  # it read the tiny run, not the default
    assert "psi_4 on victim 2: return" in text and "Random on victim 1: return" in text
    assert "(4 episodes)" in text
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 3  # psi_k types, then the random and the no-op attack
