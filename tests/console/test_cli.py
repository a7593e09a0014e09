"""A tiny ``python -m batpal.fit`` (pretrain -> calibrate, in a child of the session's zygote, ``tests/zygote.py``):
its story in ``<run dir>/fit.log`` without ANSI codes, the frames bar on stdout, known noise silenced on stderr while
a user's own warning still shows."""

from __future__ import annotations

import pytest

from tests.conftest import GAME, TINY
from tests.console import USER_WARNING
from tests.zygote import zygote

NOISE = ("dataloader_iter", "LeafSpec", "exists and is not empty", "Tip:", "Initialized LazyTensorStorage",
         "`Trainer.fit` stopped")


@pytest.mark.slow  # a CLI process (~15 s on an idle machine)
def test_fit_writes_its_story_to_fit_log_and_silences_only_known_noise(tmp_path):
    run_dir = tmp_path / "run"
    args = [
        "experiment=mpe_spread",
        *(o for o in TINY if not o.startswith(("stages=", "trainer.enable_progress_bar="))),
        *(o for o in GAME if o.startswith(("calibrate.", "game."))),
        "stages=[pretrain,calibrate]",
        "trainer.enable_progress_bar=true",
        "+callbacks.warn._target_=tests.console.warn_callback.WarnAtStart",  # a user's callback that warns
        f"hydra.run.dir={run_dir}",
    ]
    done = zygote().run("batpal.fit", args, tmp_path / "stdout.txt", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    log = (run_dir / "fit.log").read_text()
    assert "\x1b" not in log
    for stage in ("pretrain", "calibrate"):
        assert f"== stage {stage}: " in log and f"== stage {stage}: " in done.stdout
    assert log.count("run dir " + str(run_dir)) == 2  # each banner names the run dir
    assert "== batpal.fit: summary ==" in log and f"run dir: {run_dir}" in log and "Vmin" in log
    assert USER_WARNING in log and USER_WARNING in done.stderr  # a warning that matters: shown and kept
    assert not [noise for noise in NOISE if noise in done.stderr + done.stdout + log]
    bar = [line for line in done.stdout.replace("\r", "\n").splitlines() if line.startswith("pretrain:")][-1]
    assert bar.startswith("pretrain: 100%") and "1.60k/1.60k frames" in bar and "frames/s, return=" in bar
