"""A stage's banner: what it does, its frame budget, the run directory."""

from __future__ import annotations

from batpal.console.banner import fit_banner, frames_text, stage_banner
from tests.conftest import compose_config


def test_stage_banner_names_the_stage_its_budget_and_run_dir():
    lines = stage_banner("pretrain", 8_000_000, "/runs/mpe/seed0").splitlines()
    assert lines[0] == ("== stage pretrain: MAPPO trains the reference policy pi0, then evaluates it (its return and "
                        "Vmax) ==")
    assert lines[1].split() == ["budget", "8.0M", "frames", "(8,000,000)"]
    assert lines[2].split() == ["run", "dir", "/runs/mpe/seed0"]
    assert [frames_text(n) for n in (999, 1600, 12_000_000)] == ["999", "1.6k", "12.0M"]


def test_fit_banner_reads_the_stage_budget_and_what_calibrate_does_without_training():
    cfg = compose_config(["experiment=mpe_spread", "adversarial.frames=1234", "game.K=3"], "/runs/a")
    adversarial = fit_banner(cfg, "adversarial", cfg.run_dir, resumed=True)
    assert "budget 1.2k frames (1,234); resumed from its checkpoint; method batpal, K=3" in adversarial
    assert "2.0M frames" in fit_banner(cfg, "calibrate", cfg.run_dir)
    fixed = compose_config(["experiment=mpe_spread", "game.vmax=-50", "game.vmin=-400"], "/runs/a")
    assert "budget no training; Vmax and Vmin from the config" in fit_banner(fixed, "calibrate", fixed.run_dir)
