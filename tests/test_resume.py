"""A resume never damages or mislabels a run: only its own checkpoints, only budget and logging changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from batpal.fit import fit
from batpal.resume import config_differences
from tests.conftest import compose_config
from tests.tiny_run import tiny_game_run

pytestmark = pytest.mark.slow  # end-to-end runs (pipelines, CLI processes)


def _files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's finished tiny run (``experiment=mpe_spread``, TINY and GAME): these tests may write."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    shutil.copytree(tiny_game_run(tmp_path_factory), run_dir)
    return run_dir


@pytest.mark.parametrize("change", ["game.K=2", "seed=1", "ppo.clip_epsilon=0.1", "adversarial.ppo.ppo_epochs=3"])
def test_a_finished_run_resumed_with_a_changed_setting_is_refused_untouched(finished, tiny_cfg, change):
    from tests.conftest import GAME

    before = _files(finished)
    cfg = tiny_cfg(*GAME, "ckpt_path=last", change, name="x")
    cfg.run_dir = str(finished)
    key = change.split("=")[0]
    with pytest.raises(ValueError, match=rf"(?s)differs from the run's.*{key}: "):
        fit(cfg)
    assert _files(finished) == before  # config.yaml, checkpoints, summary: byte-identical


def test_budget_and_logging_changes_may_resume(finished, tmp_path):
    from tests.conftest import GAME, TINY

    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    more = ["adversarial.frames=2400", "adversarial.eval_episodes=2", "trainer.enable_progress_bar=true", "~logger"]
    summary = fit(compose_config(["experiment=mpe_spread", *TINY, *GAME, "ckpt_path=last", *more], copy))
    assert summary["adversarial"]["frames"] == 2400  # continued from its checkpoint to the raised budget


def test_a_checkpoint_of_another_run_is_refused(finished, tmp_path, tiny_cfg):
    other = tiny_cfg(name="other")
    fit(other)
    foreign = Path(other.run_dir) / "checkpoints" / "last.ckpt"
    copy = tmp_path / "mine"
    shutil.copytree(finished, copy)
    from tests.conftest import GAME, TINY

    cfg = compose_config(["experiment=mpe_spread", *TINY, *GAME, f"ckpt_path={foreign}"], copy)
    with pytest.raises(ValueError, match="belongs to another run"):
        fit(cfg)


def test_config_differences_leave_out_budgets_and_logging():
    a = compose_config(["experiment=mpe_spread"], "/tmp/a")
    b = compose_config(
        [
            "experiment=mpe_spread",
            "pretrain.frames=5",
            "calibrate.eval_episodes=3",
            "trainer.enable_progress_bar=false",
            "game.zeta=1.0",
            "pretrain.iters_per_epoch=3",
        ],
        "/tmp/b",
    )
    assert config_differences(a, b) == ["game.zeta: 0.05 -> 1.0", "pretrain.iters_per_epoch: 10 -> 3"]


def test_a_run_saved_before_a_setting_was_added_resumes_at_its_old_value():
    """A config.yaml without ``game.sign_entropy`` (saved before it existed) is the same run at False, not at True."""
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(compose_config(["experiment=mpe_spread"], "/tmp/a"), resolve=True)
    del plain["game"]["sign_entropy"]
    saved = OmegaConf.create(plain)  # as an older run's config.yaml reads back
    assert config_differences(saved, compose_config(["experiment=mpe_spread"], "/tmp/a")) == []
    on = compose_config(["experiment=mpe_spread", "game.sign_entropy=true"], "/tmp/a")
    assert config_differences(saved, on) == ["game.sign_entropy: '<absent>' -> True"]
