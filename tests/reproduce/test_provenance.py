"""Provenance beside every table: the command, commit and machine in README.md, each step's wall-clock, commit and
machine from its done.json, and ``reproduce.publish`` copying tables and README (never checkpoints)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from batpal.reproduce.provenance import REPO, commit, machine, publish, stamp, write_readme


def test_commit_is_the_checkouts_head_and_says_when_tracked_files_differ():
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
                           cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert commit() == head + ("+dirty" if dirty else "")
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", commit())


def test_machine_names_cores_memory_and_torch():
    text = machine()
    assert re.search(r"^\d+ CPU cores, \d+ GiB, ", text) and "torch " in text
    assert stamp() == {"commit": commit(), "machine": text}


def test_readme_lists_the_command_and_every_steps_wall_clock(tmp_path):
    rows = [
        {"step": "seed0/pi0", "kind": "fit", "finished": 1.8e9, "wall_s": 512.4, "commit": "a" * 40, "machine": "m1"},
        {"step": "seed0/eval_pi0", "kind": "evaluate", "finished": 1.8e9 + 60},  # done before stamps existed
    ]
    table = tmp_path / "figure2.csv"
    table.write_text("attack,defender\n")
    path = write_readme(tmp_path, ["experiment=mpe_spread", "seeds=[0,1,2]"], rows, {"figure2": [str(table)]},
                        wall_s=600.0, caption="Mean over 3 seed(s).")
    text = path.read_text()
    assert "python -m batpal.reproduce experiment=mpe_spread 'seeds=[0,1,2]'" in text
    assert f"commit `{commit()}`" in text and machine() in text and "figure2.csv" in text
    assert "| seed0/pi0 | fit | 512 | 2027-01-15 08:00 | `aaaaaaaaaaaa` | m1 |" in text
    assert "| seed0/eval_pi0 | evaluate | n/a |" in text and "Sum of the steps' wall-clock: 512 s" in text


def test_publish_copies_the_named_files_only(tmp_path):
    root, target = tmp_path / "run", tmp_path / "results" / "mpe_spread"
    (root / "seed0" / "pi0" / "checkpoints").mkdir(parents=True)
    (root / "seed0" / "pi0" / "checkpoints" / "last.ckpt").write_bytes(b"x")
    files = []
    for name in ("figure2.csv", "figure2.png", "README.md"):
        (root / name).write_text(name)
        files.append(root / name)
    copied = publish(root, target, files)
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "figure2.csv", "figure2.png"]
    assert [Path(p).read_text() for p in copied] == ["figure2.csv", "figure2.png", "README.md"]


def test_readme_gives_each_step_groups_share_and_the_span(tmp_path):
    rows = [
        {"step": "seed0/pi0", "kind": "fit", "finished": 1000.0, "wall_s": 600.0},
        {"step": "seed1/pi0", "kind": "fit", "finished": 1100.0, "wall_s": 600.0},
        {"step": "seed0/batpal", "kind": "fit", "finished": 2000.0, "wall_s": 500.0},
        {"step": "seed0/attack_act_vs_batpal", "kind": "attack", "finished": 2300.0, "wall_s": 250.0},
        {"step": "seed0/attack_dyn1_vs_batpal", "kind": "attack", "finished": 2400.0, "wall_s": 250.0},
        {"step": "seed0/eval_batpal", "kind": "evaluate", "finished": 2500.0, "wall_s": 100.0},
        {"step": "seed0/export_severity_1", "kind": "export", "finished": 2600.0},  # no stamp: not counted
    ]
    text = write_readme(tmp_path, ["experiment=mpe_spread"], rows, {}, wall_s=1.0, caption="").read_text()
    shares = text[text.index("| step group |"):]
    assert shares.index("| pi0 | 1200 | 52.2% |") < shares.index("| batpal | 500 | 21.7% |") \
        < shares.index("| RL attacks | 500 | 21.7% |") < shares.index("| evaluations | 100 | 4.3% |")
    assert "exports" not in shares
    assert "From the first step's start to the last step's end: 2100 s (0.58 h)." in text  # 400 s to 2500 s


def test_a_partial_readme_lists_the_steps_done_and_those_left_and_no_table(tmp_path):
    rows = [{"step": "seed0/pi0", "kind": "fit", "finished": 1.8e9, "wall_s": 512.4, "commit": "a" * 40}]
    text = write_readme(tmp_path, ["experiment=mpe_spread"], rows, {}, wall_s=0.0, caption="",
                        pending=["seed0/calibrate", "seed0/batpal"]).read_text()
    assert text.startswith("# Reproduction (in progress)")
    assert "1 of 3 steps done" in text and "steps still to run: seed0/calibrate, seed0/batpal" in text
    assert "| seed0/pi0 | fit | 512 |" in text and "tables built" not in text


def test_a_committed_reproduction_finishing_steps_does_not_make_the_code_dirty(tmp_path, monkeypatch):
    """results/<experiment>/README.md changes as a committed reproduction's steps finish: the code's commit stays
    clean; a changed file of the package does not."""
    from batpal.reproduce import provenance

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "results" / "mpe").mkdir(parents=True)
    (tmp_path / "results" / "mpe" / "README.md").write_text("1 of 9 steps done")
    (tmp_path / "code.py").write_text("x = 1")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "start")
    monkeypatch.setattr(provenance, "REPO", tmp_path)
    (tmp_path / "results" / "mpe" / "README.md").write_text("2 of 9 steps done")
    assert not commit().endswith("+dirty")
    (tmp_path / "code.py").write_text("x = 2")
    assert commit().endswith("+dirty")
