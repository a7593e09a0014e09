"""The cache of each step: done with the same config and inputs -> skipped; another config, or inputs recomputed
since -> refused before any compute, every such step named at once."""

from __future__ import annotations

import json

import pytest

from batpal.reproduce.cache import DONE_FILE, StaleStepError, check, done_id, expect, mark_done, write_step
from batpal.reproduce.run import uncached
from batpal.reproduce.steps import Step

PI0 = Step(0, "pi0", "fit")
METHOD = Step(0, "batpal", "fit", needs=("pi0",), share=("pi0",))


def finish(root, step, config, inputs=None):
    write_step(step.key, step.kind, step.run_dir(root), config, inputs or {})
    return mark_done(step.run_dir(root), config)


def planned(pi0_frames=800, batpal_K=4):
    return {PI0.key: ([], {"pretrain.frames": pi0_frames}), METHOD.key: ([], {"game.K": batpal_K})}


def test_done_steps_are_skipped_and_new_ones_run(tmp_path):
    assert [s.key for s in uncached([PI0, METHOD], tmp_path, planned())] == [PI0.key, METHOD.key]
    pi0_id = finish(tmp_path, PI0, {"pretrain.frames": 800})
    assert done_id(PI0.run_dir(tmp_path)) == pi0_id
    assert [s.key for s in uncached([PI0, METHOD], tmp_path, planned())] == [METHOD.key]
    finish(tmp_path, METHOD, {"game.K": 4}, {PI0.key: pi0_id})
    assert uncached([PI0, METHOD], tmp_path, planned()) == []


def test_another_config_or_recomputed_inputs_are_refused_naming_each_step(tmp_path):
    pi0_id = finish(tmp_path, PI0, {"pretrain.frames": 800})
    finish(tmp_path, METHOD, {"game.K": 4}, {PI0.key: pi0_id})
    with pytest.raises(StaleStepError) as err:
        uncached([PI0, METHOD], tmp_path, planned(pi0_frames=1600, batpal_K=3))
    text = str(err.value)
    assert "2 cached step(s)" in text and "pretrain.frames: 800 -> 1600" in text and "game.K: 4 -> 3" in text
    finish(tmp_path, PI0, {"pretrain.frames": 800})  # pi0 recomputed: batpal was trained on the old one
    with pytest.raises(StaleStepError, match="computed from other results of seed0/pi0"):
        uncached([PI0, METHOD], tmp_path, planned())


def test_an_unfinished_step_of_another_config_is_refused_too(tmp_path):
    write_step(PI0.key, "fit", PI0.run_dir(tmp_path), {"pretrain.frames": 800}, {})
    assert not check(PI0.key, PI0.run_dir(tmp_path), {"pretrain.frames": 800}, {})  # killed: runs again
    with pytest.raises(StaleStepError, match="was run with another config"):
        check(PI0.key, PI0.run_dir(tmp_path), {"pretrain.frames": 400}, {})


def test_a_job_refuses_a_config_other_than_its_plan(tmp_path):
    write_step(PI0.key, "fit", PI0.run_dir(tmp_path), {"pretrain.frames": 800}, {})
    with pytest.raises(RuntimeError, match="composed another config than its step planned"):
        expect(PI0.run_dir(tmp_path), {"pretrain.frames": 400})
    mark_done(PI0.run_dir(tmp_path), {"pretrain.frames": 800})
    assert json.loads((PI0.run_dir(tmp_path) / DONE_FILE).read_text())["inputs"] == {}


def test_a_step_saved_before_a_setting_was_added_matches_it_at_its_old_value(tmp_path):
    """step.json written before ``game.sign_entropy`` existed: the same step at the old-behaviour value (False), a
    refused one at another value (``batpal.config.added``)."""
    pi0_id = finish(tmp_path, PI0, {"pretrain.frames": 800})
    finish(tmp_path, METHOD, {"game.K": 4}, {PI0.key: pi0_id})
    now = {PI0.key: ([], {"pretrain.frames": 800}), METHOD.key: ([], {"game.K": 4, "game.sign_entropy": False})}
    assert uncached([PI0, METHOD], tmp_path, now) == []
    expect(METHOD.run_dir(tmp_path), {"game.K": 4, "game.sign_entropy": False})  # a job of the new code
    now[METHOD.key][1]["game.sign_entropy"] = True
    with pytest.raises(StaleStepError, match="game.sign_entropy: '<absent>' -> True"):
        uncached([PI0, METHOD], tmp_path, now)


ATTACK = Step(0, "attack_act_vs_batpal", "attack", needs=("batpal",))


def test_a_run_dir_moved_elsewhere_keeps_its_steps_and_refuses_other_paths(tmp_path):
    """A reproduction committed to git and cloned into another checkout (or copied): a step whose config names
    paths inside its dir (an attack's defender) is still done there; a path outside it still counts."""
    first, moved = tmp_path / "a" / "results" / "mpe", tmp_path / "b" / "results" / "mpe"
    pi0_id = finish(first, PI0, {"pretrain.frames": 800})
    method_id = finish(first, METHOD, {"game.K": 4}, {PI0.key: pi0_id})
    finish(first, ATTACK, {"defender": str(first / "seed0" / "batpal"), "attack.frames": 400}, {METHOD.key: method_id})
    saved = json.loads((ATTACK.run_dir(first) / "step.json").read_text())["config"]
    assert saved["defender"] == "<reproduction>/seed0/batpal"
    moved.parent.mkdir(parents=True)
    first.rename(moved)

    def plan(defender: str) -> dict:
        return {**planned(), ATTACK.key: ([], {"defender": defender, "attack.frames": 400})}

    steps = [PI0, METHOD, ATTACK]
    assert uncached(steps, moved, plan(str(moved / "seed0" / "batpal"))) == []
    with pytest.raises(StaleStepError, match="defender: '<reproduction>/seed0/batpal' -> '/elsewhere/batpal'"):
        uncached(steps, moved, plan("/elsewhere/batpal"))
    expect(ATTACK.run_dir(moved), {"defender": str(moved / "seed0" / "batpal"), "attack.frames": 400})


def test_a_step_json_with_absolute_paths_still_matches_in_its_own_dir(tmp_path):
    """step.json written before paths were kept relative (absolute paths inside the run dir): still done there."""
    pi0_id = finish(tmp_path, PI0, {"pretrain.frames": 800})
    method_id = finish(tmp_path, METHOD, {"game.K": 4}, {PI0.key: pi0_id})
    config = {"defender": str(tmp_path.resolve() / "seed0" / "batpal")}
    run_dir = ATTACK.run_dir(tmp_path)
    run_dir.mkdir(parents=True)
    (run_dir / "step.json").write_text(json.dumps({"step": ATTACK.key, "kind": "attack", "config": config,
                                                   "inputs": {METHOD.key: method_id}}))
    mark_done(run_dir, config)
    assert check(ATTACK.key, run_dir, config, {METHOD.key: method_id})
