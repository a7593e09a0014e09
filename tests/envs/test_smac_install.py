"""The SMAC install: the ``smac`` extra's pins agree with smacv2's, and an installed smacv2 imports next to batpal.

smacv2 (github.com/oxwhirl/smacv2, not on PyPI) pins ``protobuf<3.21`` in its setup.py. tensorboard 2.21 asks
``protobuf>=6.31.1`` and its generated code imports ``google.protobuf.runtime_version``, so with smacv2's protobuf
Lightning's ``TensorBoardLogger`` fails on its first scalar. The ``smac`` extra holds tensorboard below 2.21.

The first tests read pyproject.toml and run everywhere. The last one needs smacv2 itself (README, "SMAC") and is
skipped without it; it needs no StarCraft II.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]

# smacv2's install_requires at 577ab5a (setup.py): the pin the extra has to live with.
SMACV2_COMMIT = "577ab5a2cff2391f8df582da5731ea9cd6adf3c6"
SMACV2_PROTOBUF = SpecifierSet("<3.21")

# Requires-Dist: protobuf of each tensorboard release, copied from the wheels' METADATA (PyPI).
TENSORBOARD_PROTOBUF = {
    "2.14.0": ">=3.19.6",
    "2.14.1": ">=3.19.6",
    "2.15.2": "!=4.24.0,>=3.19.6",
    "2.16.2": "!=4.24.0,>=3.19.6",
    "2.17.1": "!=4.24.0,>=3.19.6",
    "2.18.0": "!=4.24.0,>=3.19.6",
    "2.19.0": "!=4.24.0,>=3.19.6",
    "2.20.0": "!=4.24.0,>=3.19.6",
    "2.21.0": "<8.0.0,>=6.31.1",
}
# protobuf releases on PyPI that smacv2's pin allows, newest last (3.20.3 is the one pip picks).
PROTOBUF_3 = ["3.19.6", "3.20.0", "3.20.1", "3.20.2", "3.20.3"]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(reqs: list[str]) -> dict[str, Requirement]:
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def _smac_extra() -> dict[str, Requirement]:
    extras = _pyproject()["project"]["optional-dependencies"]
    assert "smac" in extras, "pyproject.toml has no [project.optional-dependencies] smac extra"
    return _requirements(extras["smac"])


def test_smac_extra_pins_protobuf_as_smacv2_does():
    protobuf = _smac_extra()["protobuf"].specifier
    allowed = [v for v in PROTOBUF_3 if v in protobuf and v in SMACV2_PROTOBUF]
    assert allowed, f"the smac extra's protobuf{protobuf} leaves no protobuf that smacv2 ({SMACV2_PROTOBUF}) accepts"
    for newer in ["3.21.0", "4.25.0", "6.31.1"]:
        assert newer not in protobuf, f"the smac extra allows protobuf {newer}, which smacv2 excludes"


def test_smac_extra_tensorboard_accepts_that_protobuf():
    extra = _smac_extra()
    tensorboard, protobuf = extra["tensorboard"].specifier, extra["protobuf"].specifier
    base = _requirements(_pyproject()["project"]["dependencies"])["tensorboard"].specifier
    allowed = [v for v in TENSORBOARD_PROTOBUF if v in tensorboard and v in base]
    assert allowed, f"no tensorboard release satisfies both tensorboard{base} and the smac extra's {tensorboard}"
    for tb in allowed:
        needs = SpecifierSet(TENSORBOARD_PROTOBUF[tb])
        ok = [v for v in PROTOBUF_3 if v in needs and v in protobuf and v in SMACV2_PROTOBUF]
        assert ok, f"tensorboard {tb} asks protobuf{needs}, which the smac extra's protobuf{protobuf} excludes"
    # Releases after the table are unknown; the extra must not let pip pick them.
    for later in ["2.21.0", "2.22.0", "3.0.0"]:
        assert later not in tensorboard, f"the smac extra allows tensorboard {later} (protobuf>=6.31.1, or unknown)"


def test_install_help_and_readme_name_the_same_smacv2():
    from batpal.envs.smac import SMAC_INSTALL_HELP

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### SMAC", 1)[1].split("\n## ", 1)[0]
    for where, text in [("SMAC_INSTALL_HELP", SMAC_INSTALL_HELP), ("README's SMAC section", section)]:
        assert SMACV2_COMMIT in text, f"{where} does not pin smacv2 at {SMACV2_COMMIT[:7]}"
        assert '.[smac]"' in text, f"{where} does not install the smac extra"
        one_call = re.search(r'pip install -e "\.\[smac\]" \S*smacv2', text)
        assert one_call, f"{where}: batpal's smac extra and smacv2 are not in one pip call"


@pytest.mark.skipif(
    importlib.util.find_spec("smacv2") is None,
    reason='smacv2 is not installed (README, "SMAC": pip install -e ".[smac]" ./smacv2)',
)
def test_installed_smacv2_imports_next_to_batpal(tmp_path, monkeypatch):
    # What pip resolved: protobuf inside both smacv2's and tensorboard's ranges (what `pip check` would say).
    protobuf = Version(md.version("protobuf"))
    for dist in ["smacv2", "tensorboard", "pysc2", "s2clientprotocol"]:
        for req in map(Requirement, md.requires(dist) or []):
            if req.name.lower() == "protobuf" and req.marker is None:
                assert protobuf in req.specifier, f"{dist} {md.version(dist)}: protobuf{req.specifier}, got {protobuf}"

    import pysc2  # noqa: F401
    from pysc2 import maps, run_configs  # noqa: F401
    from s2clientprotocol import sc2api_pb2  # noqa: F401
    from smacv2.env import StarCraft2Env  # noqa: F401
    from smacv2.env.starcraft2.maps import smac_maps
    from torchrl.envs.libs.smacv2 import SMACv2Wrapper  # noqa: F401

    import batpal.envs.smac_classic  # noqa: F401

    assert {"2s3z", "MMM", "1c3s5z", "10m_vs_11m"} <= set(smac_maps.get_smac_map_registry())

    # The default logger writes a protobuf event file; read the scalar back.
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(str(tmp_path), name="smac")
    logger.log_metrics({"win_rate": 0.25}, step=3)
    logger.finalize("success")
    (events,) = Path(logger.log_dir).glob("events.out.tfevents.*")
    acc = EventAccumulator(str(events))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("win_rate")] == [(3, 0.25)]

    # Without StarCraft II, building the env stops at the install check, not at a protobuf error.
    from batpal.envs import make
    from batpal.envs.smac import SMACUnavailableError

    monkeypatch.setenv("SC2PATH", str(tmp_path / "no_sc2"))
    with pytest.raises(SMACUnavailableError, match="StarCraft II was not found") as err:
        make("smac_mmm", 1)
    assert "smacv2 python package is not installed" not in str(err.value)
