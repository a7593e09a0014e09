"""The entry points' ``--help`` (what the command does, only the config groups it reads) and their light import:
``import batpal.fit`` (and the other entry modules) loads neither torch, Lightning nor TorchRL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.zygote import REPO

# entry module -> (its config, words its help must start with)
ENTRIES = {
    "batpal.fit": ("fit", "python -m batpal.fit experiment=<name> [key=value ...]: trains a robust cooperative team"),
    "batpal.attack": ("attack", "python -m batpal.attack experiment=<name> attack=act|dyn1|dyn2 defender=<run dir>:"),
    "batpal.evaluate": ("evaluate", "python -m batpal.evaluate experiment=<name> defenders=[<run dir>,...]"),
    "batpal.reproduce": ("reproduce", "python -m batpal.reproduce experiment=<name> seeds=[0,1,2]: reproduces"),
}
HEAVY = ("torch", "lightning", "torchrl", "tensordict")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _groups_read(config: str) -> set[str]:
    """The config groups of ``configs/<config>.yaml``'s defaults list (not Hydra's own, not overrides)."""
    defaults = yaml.safe_load((REPO / "configs" / f"{config}.yaml").read_text())["defaults"]
    keys = [next(iter(d)) for d in defaults if isinstance(d, dict)]
    return {k for k in keys if not k.startswith(("override ", "hydra"))}


def _listed_groups(help_text: str) -> dict[str, list[str]]:
    """``group: a, b, c`` lines of the help's group listing."""
    block = help_text.split("Config groups it reads", 1)[1].split("\n\n", 1)[0]
    lines = [line.split(": ", 1) for line in block.splitlines()[1:] if ": " in line]
    return {group: options.split(", ") for group, options in lines}


def test_help_says_what_each_command_does_and_lists_only_the_groups_it_reads() -> None:
    runs = {
        module: subprocess.Popen(
            [sys.executable, "-m", module, "--help"], cwd=REPO, env=_env(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for module in ENTRIES
    }
    helps = {}
    for module, run in runs.items():
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err[-2000:]
        config, purpose = ENTRIES[module]
        assert out.startswith(purpose), out[:300]
        helps[module] = _listed_groups(out)
        assert set(helps[module]) == _groups_read(config), (module, sorted(helps[module]))
        assert "schema/" not in out and "hydra/launcher" not in out  # the typed schemas' and Hydra's own groups
        assert helps[module]["env"] == sorted(p.stem for p in (REPO / "configs" / "env").glob("*.yaml"))
    assert "attack" not in helps["batpal.fit"] and "algo" not in helps["batpal.evaluate"]  # other commands' groups


@pytest.mark.parametrize("module", ["batpal.fit", "batpal.attack", "batpal.evaluate", "batpal.reproduce.__main__"])
def test_importing_an_entry_point_loads_no_heavy_stack(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]", run.stdout
