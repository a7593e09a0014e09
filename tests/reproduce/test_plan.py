"""The step graph: pi0 and calibration shared per seed, attacks per defender (or transferred), KT per row, and each
step's config as its entry point composes it (the method's own settings win over the command's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from batpal.config.schema import ReproduceSettings
from batpal.reproduce.paper import paper_values
from batpal.reproduce.plan import make_plan
from batpal.reproduce.run import plan_configs, run_group, schedule
from tests.reproduce.conftest import TINY_REPRODUCE, hydra_reproduce

ROOT = Path("/out")
EXPERIMENTS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "configs" / "experiment").glob("*.yaml"))


def steps_of(**settings) -> dict:
    _, steps = make_plan(ROOT, [0, 1], ReproduceSettings(**settings), K=4)
    return {step.key: step for step in steps}


def test_figure2_shares_pi0_and_calibration_and_attacks_each_defender():
    steps = steps_of()
    for seed in (0, 1):
        pi0, calibrate = steps[f"seed{seed}/pi0"], steps[f"seed{seed}/calibrate"]
        assert "algo=mappo" in pi0.overrides and "stages=[pretrain]" in pi0.overrides and not pi0.share
        assert calibrate.share == ("pi0",) and "stages=[calibrate]" in calibrate.overrides
        for method in ("batpal", "eir_mappo", "gen_maxmin", "rap"):
            step = steps[f"seed{seed}/{method}"]
            assert step.share == ("pi0", "calibrate") and "stages=[adversarial]" in step.overrides
            for kind in ("act", "dyn1", "dyn2"):
                attack = steps[f"seed{seed}/attack_{kind}_vs_{method}"]
                assert f"defender='{ROOT}/seed{seed}/{method}'" in attack.overrides and attack.needs == (method,)
    evaluation = dict(steps["seed0/eval_rap"].rows)
    assert evaluation["ACT"] == f"{ROOT}/seed0/attack_act_vs_rap"
    assert evaluation["Severity 3"] == f"severity_3@{ROOT}/seed0/batpal"
    assert evaluation["A-EIR-MAPPO"] == f"a_{ROOT}/seed0/eir_mappo"
    assert list(evaluation)[:2] == ["No attack", "Severity 1"] and len(evaluation) == 11
    # KT (joint, the default): one known-type run per seed, every attack row's attack a known type in row order
    # (RL attacks: those against pi0); row i's evaluation tells KT that it faces type k = i
    kt = steps["seed0/kt"]
    known = [f"export_severity_{k}" for k in range(1, 5)]
    known += [f"export_a_{x}" for x in ("eir_mappo", "gen_maxmin", "rap")]
    known += [f"attack_{kind}_vs_pi0" for kind in ("act", "dyn1", "dyn2")]
    fixed = "game.fixed_adversaries=[" + ",".join(f"'{ROOT}/seed0/{name}'" for name in known) + "]"
    assert fixed in kt.overrides and "game.K=10" in kt.overrides and set(known) <= set(kt.needs)
    assert kt.overrides.index("game.K=10") > kt.overrides.index("game.K=1")  # wins over kt.yaml's K = 1
    assert steps["seed0/export_severity_2"].overrides == (f"source={ROOT}/seed0/batpal", "net=2")
    assert steps["seed0/export_a_rap"].overrides == (f"source={ROOT}/seed0/rap", "net=1")
    eval_sev2, eval_dyn2 = steps["seed0/eval_kt_severity_2"], steps["seed0/eval_kt_dyn2"]
    assert dict(eval_sev2.rows) == {"No attack": "none", "Severity 2": f"severity_2@{ROOT}/seed0/batpal"}
    assert "severity=2" in eval_sev2.overrides and "severity=10" in eval_dyn2.overrides
    assert eval_sev2.needs[0] == "kt" and eval_dyn2.needs[0] == "kt"
    assert not [k for k in steps if k.startswith("seed0/kt_")]  # no per-row KT runs


def test_per_row_kt_trains_one_known_type_per_attack_row():
    steps = steps_of(kt="per_row")
    kt_act = steps["seed0/kt_act"]
    assert f"game.fixed_adversaries=['{ROOT}/seed0/attack_act_vs_pi0']" in kt_act.overrides
    assert "game.K=1" in kt_act.overrides and "seed0/kt" not in steps
    assert dict(steps["seed0/eval_kt_severity_2"].rows) == {
        "No attack": "none", "Severity 2": f"severity_2@{ROOT}/seed0/batpal"}
    assert not any(o.startswith("severity=") for o in steps["seed0/eval_kt_severity_2"].overrides)
    assert steps["seed0/eval_kt_severity_2"].needs[0] == "kt_severity_2"
    assert len([k for k in steps if k.startswith("seed0/kt_")]) == 10


def test_transfer_mode_trains_the_attacks_once_against_mappo_and_says_so():
    steps = steps_of(attacks_against="mappo", methods=["batpal", "rap", "mappo"])
    assert not any("_vs_batpal" in key or "_vs_rap" in key for key in steps)
    rows = dict(steps["seed1/eval_batpal"].rows)
    assert rows["DYN-2 (vs MAPPO)"] == f"{ROOT}/seed1/attack_dyn2_vs_pi0" and "DYN-2" not in rows
    assert ("DYN-2 (vs MAPPO)", "BATPAL") not in paper_values("figure2", "mpe_spread")  # not the paper's protocol
    assert paper_values("figure2", "mpe_spread")["DYN-2", "BATPAL"] == 0.72


def test_ablation_and_K_tables_add_their_variants():
    steps = steps_of(tables=["figure2", "table1", "table3"], attacks=["act"])
    assert "game.belief_source=none" in steps["seed0/no_belief"].overrides
    assert "game.ec_clip=false" in steps["seed0/ec_pg"].overrides
    fixed = steps["seed0/fixed_types"]
    assert "game.K=4" in fixed.overrides and {f"fixed_attack_{i}" for i in range(4)} <= set(fixed.needs)
    assert "game.K=3" in steps["seed0/batpal_K3"].overrides and "seed0/batpal_K4" not in steps  # K=4: batpal
    assert set(dict(steps["seed0/eval_batpal"].rows)) >= {"No attack", "A-Gen-Maxmin", "A-EIR-MAPPO", "ACT"}


def test_step_configs_pass_the_command_on_but_keep_each_methods_settings(tmp_path):
    command = [*TINY_REPRODUCE, "seeds=[3]", "game.K=3", "reproduce.methods=[batpal,eir_mappo,mappo]",
               "reproduce.attacks=[act]", "reproduce.scale=0.5"]
    with hydra_reproduce(*command, run_dir=tmp_path) as (cfg, cmd):
        _, steps = make_plan(tmp_path, [3], cfg.reproduce, K=3)
        planned = plan_configs(cfg, steps, tmp_path, cmd)
    eir = planned["seed3/eir_mappo"][1]
    assert eir["game.K"] == 1 and eir["game.constrained"] is False and eir["method"] == "eir_mappo"
    batpal = planned["seed3/batpal"][1]
    assert batpal["game.K"] == 3 and batpal["seed"] == 3 and batpal["stages"] == ["adversarial"]
    assert batpal["adversarial.frames"] == 400 and batpal["env.num_envs"] == 16  # scaled budget, command's envs
    assert "pretrain.frames" not in batpal  # a stage it does not run is not part of its identity
    pi0 = planned["seed3/pi0"][1]
    assert pi0["pretrain.frames"] == 400 and "game.K" not in pi0 and pi0["method"] == "mappo"
    attack = planned["seed3/attack_act_vs_batpal"][1]
    assert attack["attack.frames"] == 200 and attack["attack.name"] == "act"
    assert attack["defender"] == str(tmp_path / "seed3" / "batpal")
    evaluation = planned["seed3/eval_batpal"][1]
    assert evaluation["episodes"] == 1 and evaluation["defenders"] == [f"batpal={tmp_path / 'seed3' / 'batpal'}"]
    # env.detectability_unit is an attack's alone: a fit or evaluation step cached before it existed stays valid
    assert attack["env.detectability_unit"] == 1.0
    assert not any("env.detectability_unit" in planned[key][1] for key in ("seed3/pi0", "seed3/batpal",
                                                                           "seed3/eval_batpal"))


def test_an_lbf_attack_cached_before_the_detectability_unit_is_refused_and_an_mpe_one_kept(tmp_path):
    """LBF's DYN attacks weigh detectability 0.34 / 142 as much as before: a cached one no longer fits (its
    difference named); an MPE one (unit 1.0, the old behaviour) still does."""
    from batpal.reproduce.cache import StaleStepError, check, write_step

    before = {"attack.c": 0.05, "attack.name": "dyn2", "env.name": "lbf"}
    for name, unit, fits in (("lbf", 0.002394, False), ("mpe_spread", 1.0, True)):
        run_dir = tmp_path / name / "seed0" / "attack_dyn2_vs_pi0"
        write_step("seed0/attack_dyn2_vs_pi0", "attack", run_dir, {**before, "env.name": name}, {})
        now = {**before, "env.name": name, "env.detectability_unit": unit}
        if fits:
            assert check("seed0/attack_dyn2_vs_pi0", run_dir, now, {}) is False  # not done, not refused
        else:
            with pytest.raises(StaleStepError, match=r"env.detectability_unit: <absent> -> 0.002394|detectability"):
                check("seed0/attack_dyn2_vs_pi0", run_dir, now, {})


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_reproduce_config_composes_with_every_experiment(experiment, tmp_path):
    with hydra_reproduce(f"experiment={experiment}", run_dir=tmp_path) as (cfg, _):
        assert cfg.experiment_name == experiment and list(cfg.seeds) == [0, 1, 2]
        assert cfg.reproduce.tables == ["figure2"] and cfg.reproduce.attacks_against == "defender"


@pytest.mark.parametrize("experiment", ["mpe_spread", "lbf"])
def test_the_default_reproduction_plans_and_validates_every_step(experiment, tmp_path):
    """The command of the README, not a tiny one: every fit step's config passes validation (MPE's zeta 0.05 is
    valid for its K = 4 learned psi_k; joint KT's K = 10 fixed attacks run no EC-PPO step, so zeta does not bind)."""
    with hydra_reproduce(f"experiment={experiment}", "seeds=[0]", run_dir=tmp_path) as (cfg, cmd):
        _, steps = make_plan(tmp_path, [0], cfg.reproduce, K=int(cfg.game.K))
        planned = plan_configs(cfg, steps, tmp_path, cmd)
    kt = planned["seed0/kt"][1]
    assert kt["game.K"] == 10 and len(kt["game.fixed_adversaries"]) == 10
    assert planned["seed0/batpal"][1]["game.K"] == 4


def attack_command(attacks: str) -> list[str]:
    """MAPPO's pi0 and the RL attacks ``attacks`` at 0.001 of each kind's own budget (the tiny one removed)."""
    command = [o for o in TINY_REPRODUCE if not o.startswith("attack.frames")]
    return [*command, "seeds=[0]", "game.K=1", "reproduce.methods=[mappo]", f"reproduce.attacks=[{attacks}]",
            "reproduce.scale=0.001"]


def test_each_attack_kind_keeps_its_own_budget_scaled(tmp_path):
    """configs/attack/<kind>.yaml's ``frames`` (4M for ACT, 2M for DYN-1) reaches the kind's steps times the scale:
    a single reproduction budget passed to every attack step would overwrite it."""
    command = attack_command("act,dyn1")
    with hydra_reproduce(*command, run_dir=tmp_path) as (cfg, cmd):
        _, steps = make_plan(tmp_path, [0], cfg.reproduce, K=1)
        planned = plan_configs(cfg, steps, tmp_path, cmd)
    assert planned["seed0/attack_act_vs_pi0"][1]["attack.frames"] == 4_000
    assert planned["seed0/attack_dyn1_vs_pi0"][1]["attack.frames"] == 2_000
    with hydra_reproduce(*command, "attack.frames=1000000", run_dir=tmp_path) as (cfg, cmd):  # the command's wins
        planned = plan_configs(cfg, steps, tmp_path, cmd)
    assert {planned[f"seed0/attack_{k}_vs_pi0"][1]["attack.frames"] for k in ("act", "dyn1")} == {1_000}


def test_waves_count_only_the_steps_still_to_run():
    """With pi0 and the methods cached, the attacks on pi0 and on each method run in one wave (one entry point at a
    time), not an attack on pi0 alone and then the others; a fresh run keeps every dependency in order."""
    steps = list(steps_of().values())
    seed0 = [s for s in steps if s.key.startswith("seed0/")]
    attacks = [s for s in seed0 if s.kind == "attack"]
    waves = schedule(steps, attacks)
    assert len(waves) == 1 and waves[0][0] == "attack" and len(waves[0][1]) == len(attacks)
    assert {s.key for s in attacks} >= {"seed0/attack_dyn2_vs_pi0", "seed0/attack_dyn2_vs_batpal"}
    order = [s.key for _, wave in schedule(steps, seed0) for s in wave]  # nothing cached: inputs first
    for step in seed0:
        assert all(order.index(need) < order.index(step.key) for need in step.need_keys()), step.key


def test_a_wave_starts_its_longest_jobs_first(tmp_path):
    """DYN-2 (6M frames), ACT (4M), DYN-1 (2M), whatever order the command names them in: the wave's last job to
    start is its shortest, so the other core waits at most that long for the next wave."""
    command = attack_command("dyn1,act,dyn2")
    with hydra_reproduce(*command, run_dir=tmp_path) as (cfg, cmd):
        _, steps = make_plan(tmp_path, [0], cfg.reproduce, K=1)
        planned = plan_configs(cfg, steps, tmp_path, cmd)
    attacks = [step for step in steps if step.kind == "attack"]
    assert [step.name for step in attacks] == ["attack_dyn1_vs_pi0", "attack_act_vs_pi0", "attack_dyn2_vs_pi0"]

    class Waves:
        def run(self, kind: str, jobs: list) -> None:
            self.started = [step.name for step, _ in jobs]

    waves = Waves()
    run_group("attack", attacks, tmp_path, planned, waves)
    assert waves.started == ["attack_dyn2_vs_pi0", "attack_act_vs_pi0", "attack_dyn1_vs_pi0"]
