"""No code from data: a crafted ``pi0.pt``, ``attack.pt``, ``defender.pt`` or ``last.ckpt`` whose unpickling would run
code is refused with a clear error by every entry point that reads it, and the code never runs."""

from __future__ import annotations

import pathlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from batpal.artifacts import load_reference_policy
from batpal.attacks import make_attack
from batpal.attacks.checkpoint import load_trained_attack
from batpal.checkpoints import resolve_checkpoint
from batpal.modules.factory import load_game_module
from batpal.nn.adversary import AdversaryPopulation
from batpal.nn.warm_start import load_fixed_adversaries
from batpal.safe_load import check_plain, load_weights
from tests.conftest import GAME, TINY, compose_config
from tests.zygote import zygote

REFUSED = "contains Python objects that are not plain weights and will not be loaded, because loading them could run"


class Payload:
    """Unpickling this calls ``Path.touch(marker)``: the code a crafted file would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a crafted file ran code while it was loaded"


def craft(path: Path, marker: Path, **fields) -> Path:
    """A ``torch.save`` file that looks like a batpal artefact but holds ``Payload`` under ``"state_dict"``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**fields, "state_dict": Payload(marker)}, path)
    return path


DIMS = {"obs_dim": 18, "n_agents": 3, "n_actions": 5}
ATTACK_FIELDS = dict(kind="act", env="mpe_spread", dims=DIMS, hidden=[32], activation="relu", c=0.0, defender="x")


def test_a_crafted_file_runs_code_when_unpickled(tmp_path):
    """The payload the tests below use is real: loading it without ``weights_only`` runs its code."""
    probe = tmp_path / "probe"
    craft(tmp_path / "evil.pt", probe)
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert probe.exists()


# -- the helper ---------------------------------------------------------------------------------------
def test_load_weights_reads_plain_data_and_refuses_objects_and_foreign_files(tmp_path, marker):
    plain = {"a": torch.arange(3), "b": [1, 2.5, "x", None, True, (1, 2)], "c": OrderedDict(w=torch.ones(2))}
    torch.save(plain, tmp_path / "plain.pt")
    loaded = load_weights(tmp_path / "plain.pt", "test file")
    assert torch.equal(loaded["a"], plain["a"]) and loaded["b"] == plain["b"]

    craft(tmp_path / "evil.pt", marker)
    with pytest.raises(ValueError, match=rf"test file {tmp_path / 'evil.pt'} {REFUSED}") as caught:
        load_weights(tmp_path / "evil.pt", "test file")
    assert "weights_only` set to `False`" not in str(caught.value)  # we never advise loading it anyway

    torch.save({"x": np.zeros(3)}, tmp_path / "numpy.pt")  # harmless here, but not plain: refused all the same
    with pytest.raises(ValueError, match=r"could run code \(it asks for numpy"):
        load_weights(tmp_path / "numpy.pt", "test file")

    (tmp_path / "text.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="corrupt or not a file written by torch.save"):
        load_weights(tmp_path / "text.pt", "test file")
    import pickle

    (tmp_path / "pickle.pt").write_bytes(pickle.dumps(Payload(marker)))  # a bare pickle: never unpickled
    with pytest.raises(ValueError, match="corrupt or not a file written by torch.save"):
        load_weights(tmp_path / "pickle.pt", "test file")
    data = (tmp_path / "plain.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt"):
        load_weights(tmp_path / "truncated.pt", "test file")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_weights(tmp_path / "missing.pt", "test file")


def test_check_plain_names_what_would_not_load():
    assert check_plain({"x": [torch.ones(1), (1, "a")], "y": None}, "state") is not None
    with pytest.raises(TypeError, match=r"state\['rng'\]\['key'\] is a numpy.ndarray"):
        check_plain({"rng": {"key": np.zeros(2)}}, "state")
    with pytest.raises(TypeError, match=r"state\['run'\] is a pathlib"):
        check_plain({"run": Path("runs/x")}, "state")
    with pytest.raises(TypeError, match=r"state\[0\] is a numpy.float64"):
        check_plain([np.float64(1.0)], "state")  # a float subclass, pickled through numpy


# -- every entry point that reads an artefact ---------------------------------------------------------
def test_a_crafted_pi0_is_refused(tmp_path, marker):
    path = craft(tmp_path / "pi0.pt", marker, env="mpe_spread", dims=DIMS, hidden=[32], activation="relu")
    with pytest.raises(ValueError, match=f"reference policy .*pi0.pt {REFUSED}"):
        load_reference_policy(path)


def test_a_crafted_attack_pt_is_refused(tmp_path, marker):
    path = craft(tmp_path / "act_run" / "attack.pt", marker, **ATTACK_FIELDS)
    for load in (
        lambda: make_attack(str(tmp_path / "act_run")),
        lambda: make_attack(str(path)),
        lambda: load_trained_attack(path),
    ):
        with pytest.raises(ValueError, match=f"attack .*attack.pt {REFUSED}"):
            load()


def test_a_crafted_fixed_adversary_is_refused(tmp_path, marker):
    craft(tmp_path / "act_run" / "attack.pt", marker, **ATTACK_FIELDS)
    population = AdversaryPopulation(DIMS["obs_dim"] + DIMS["n_agents"], DIMS["n_actions"], K=1, hidden=[32])
    with pytest.raises(ValueError, match=f"fixed adversary .*attack.pt {REFUSED}"):
        load_fixed_adversaries(population, [str(tmp_path / "act_run")], "mpe_spread")


def test_a_crafted_defender_pt_is_refused(tmp_path, marker):
    run_dir = tmp_path / "game"
    run_dir.mkdir()
    cfg = compose_config(["experiment=mpe_spread", *TINY, *GAME, "game.vmax=-50"], run_dir)
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    craft(run_dir / "pi0.pt", marker, env="mpe_spread", dims=DIMS, hidden=[32, 32], activation="relu")
    craft(run_dir / "defender.pt", marker)
    with pytest.raises(ValueError, match=f"defender weights .*defender.pt {REFUSED}"):
        load_game_module(run_dir)


def _crafted_checkpoint(run_dir: Path, marker: Path) -> Path:
    path = run_dir / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {}, "rollout_state": {"stage": "pretrain", "frames": 0}, "hook": Payload(marker)}, path)
    return path


def test_a_crafted_checkpoint_is_refused_before_lightning_reads_it(tmp_path, marker):
    path = _crafted_checkpoint(tmp_path / "run", marker)
    for given in ("last", str(path)):
        with pytest.raises(ValueError, match=f"checkpoint .*last.ckpt {REFUSED}"):
            resolve_checkpoint(given, tmp_path / "run")


def test_a_checkpoint_with_pickled_env_state_is_refused(tmp_path):
    """An older batpal packed the env state as pickled bytes in a uint8 tensor: loads as weights, never unpickled."""
    path = tmp_path / "old.ckpt"
    rollout = {"stage": "pretrain", "frames": 0, "sim": torch.zeros(8, dtype=torch.uint8), "transforms": {}}
    torch.save({"state_dict": {}, "rollout_state": rollout}, path)
    with pytest.raises(ValueError, match="older batpal .* could run code"):
        resolve_checkpoint(str(path), tmp_path)


@pytest.mark.slow  # end to end
def test_fit_refuses_a_crafted_checkpoint(tmp_path, marker):
    """``python -m batpal.fit ... ckpt_path=<crafted>`` (in a child of the session's zygote, ``tests/zygote.py``): a
    clear error, no code run, no stage started."""
    path = _crafted_checkpoint(tmp_path / "crafted", marker)
    run_dir = tmp_path / "run"
    args = ["experiment=mpe_spread", *TINY, f"hydra.run.dir={run_dir}", f"ckpt_path={path}"]
    out = zygote().run("batpal.fit", args, tmp_path / "fit.log", timeout=300)
    assert out.returncode != 0
    assert REFUSED in out.stderr + out.stdout
    assert not (run_dir / "pi0.pt").exists() and not (run_dir / "checkpoints").exists()
