"""game.victims = 2 on a tiny 4-agent MPE-Spread run: every stage trains and writes per-victim-set figures; bad
victim counts fail before compute; RL attack training (single-victim) refuses the run clearly."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest

from batpal.fit import fit
from tests.conftest import GAME
from tests.tiny_run import MULTI, tiny_multi_run

pytestmark = pytest.mark.slow  # end-to-end runs (pipelines, CLI processes)

SETS = [list(s) for s in combinations(range(4), 2)]  # the 6 victim sets of 2 among 4 agents, in index order


@pytest.mark.parametrize("belief_mode", ["softmax", "sigmoid"])
def test_two_victims_pipeline_writes_per_set_bands_and_severities(tiny_cfg, tmp_path_factory, belief_mode):
    if belief_mode == "softmax":  # the session's run (tests/tiny_run.py), also evaluated in tests/eval
        run_dir, summary = tiny_multi_run(tmp_path_factory)
    else:
        cfg = tiny_cfg(*MULTI, f"game.belief_mode={belief_mode}")
        run_dir, summary = Path(cfg.run_dir), fit(cfg)
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    cal, adv = summary["calibrate"], summary["adversarial"]
    assert cal["victim_sets"] == adv["victim_sets"] == SETS
    assert len(cal["worst_case_return"]) == len(cal["vmin_ci95"]) == 6  # one worst case per victim set
    vmax = cal["vmax"]
    assert len(adv["bands"]) == 6 and all(len(b) == 2 for b in adv["bands"])
    for bands in adv["bands"]:  # vmin = -400 for every set: K = 2 bands halve [Vmin, Vmax]
        assert bands[0] == pytest.approx([(vmax - 400) / 2, vmax])
        assert bands[1] == pytest.approx([-400.0, (vmax - 400) / 2])
    for k in (1, 2):
        psi = adv[f"psi_{k}"]
        assert "severity_per_victim" not in psi
        per_set = psi["severity_per_victim_set"]
        assert len(per_set) == 6
        assert psi["severity"] == pytest.approx(sum(per_set) / 6)
        assert psi["band"] == [(k - 1) / 2, k / 2]
    metrics = (run_dir / "metrics" / "adversarial" / "metrics.csv").read_text().splitlines()[0]
    for column in ("train/loss_adversary_1", "train/loss_adversary_2", "train/loss_omega", "train/loss_belief"):
        assert column in metrics, column

    from batpal.eval.defenders import load_defender
    from batpal.modules.factory import load_game_module

    module = load_game_module(run_dir)
    assert module.space.victims == 2 and module.space.size == 1 + 6 * 2
    assert module.belief.out_dim == (13 if belief_mode == "softmax" else 6 + 2)
    assert load_defender(run_dir).victims == 2  # evaluated with victim sets (tests/eval/test_multi_victims.py)
    from batpal.modules.attack import single_victim

    with pytest.raises(ValueError, match="batpal.attack is single-victim only"):
        single_victim(load_defender(run_dir))
    from batpal.analysis.belief_trajectories import belief_trajectories

    with pytest.raises(ValueError, match="single-victim only"):
        belief_trajectories(module, [0])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["game.victims=3"], r"game.victims=3 must be < the 3 agents of env 'mpe_spread'"),
        (["game.victims=4", "+env.kwargs.n_agents=4"], r"game.victims=4 must be < the 4 agents"),
        (["game.victims=0"], r"game.victims must be an integer >= 1"),
    ],
)
def test_bad_victim_counts_fail_before_compute(tiny_cfg, overrides, message):
    cfg = tiny_cfg(*GAME, *overrides)
    with pytest.raises(ValueError, match=message):
        fit(cfg)
    assert not Path(cfg.run_dir).exists()  # nothing trained, nothing written


def test_ec_ppo_ratio_is_over_the_joint_action(tiny_cfg, monkeypatch):
    """Before psi_k's first step on a batch its recomputed joint log-prob (the sum over its 2 victims) equals the
    one stored at collection: every ratio of eq. 14 starts at exactly 1."""
    import batpal.modules.game as game_module

    seen: list[tuple[int, float]] = []
    original = game_module.ec_ppo

    def spy(logp, old_logp, *args, **kwargs):
        seen.append((logp.numel(), float((logp - old_logp).abs().max()) if logp.numel() else 0.0))
        return original(logp, old_logp, *args, **kwargs)

    monkeypatch.setattr(game_module, "ec_ppo", spy)
    stages = ["stages=[pretrain,adversarial]", "game.vmax=-100", "adversarial.frames=400"]
    stages.append("adversarial.ppo.ppo_epochs=1")
    fit(tiny_cfg(*MULTI, *stages))
    assert sum(n for n, _ in seen) > 100  # steps of psi_1 and psi_2 on every victim set
    assert max(d for _, d in seen) == 0.0
