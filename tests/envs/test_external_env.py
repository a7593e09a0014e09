"""``env.name=module:function``: the user's own env factory, exactly the README's example
(``tests/envs/match_env.py``), built and stepped through ``batpal.envs.make`` and trained by a tiny ``fit``; bad
names fail before anything is written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from batpal.envs import make
from batpal.envs.registry import allow_user_env, check_env_name
from batpal.eval import normalized_return
from batpal.fit import fit
from tests.conftest import TINY, compose_config
from tests.envs import match_env

NAME = "tests.envs.match_env:make_env"
README = Path(__file__).resolve().parents[2] / "README.md"


def not_an_env(num_envs: int, seed: int, device: torch.device) -> dict:
    """A factory that returns the wrong thing."""
    return {"num_envs": num_envs}


def test_the_readme_shows_exactly_this_module() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    shown = [b for b in blocks if "class MatchEnv(EnvBase)" in b]
    assert len(shown) == 1 and shown[0] == Path(match_env.__file__).read_text()
    assert f"env.name={NAME}" in README.read_text()


def test_make_builds_and_steps_the_users_env() -> None:
    allow_user_env(NAME)  # what validation does with the command's own env.name
    env = make(NAME, num_envs=4, seed=1, max_steps=5)
    rollout = env.rollout(10, break_when_any_done=False)
    reward, done = rollout["next", "reward"], rollout["next", "done"]
    assert reward.shape == (4, 10, 1) and ((reward >= 0) & (reward <= 1)).all()
    assert done[:, 4].all() and not done[:, :4].any()  # 5-step episodes
    assert rollout["next", "episode_reward"][:, 4].sum() == reward[:, :5].sum()  # make's RewardSum is on
    assert rollout["agents", "observation"].shape == (4, 10, 3, 4)
    assert check_env_name(NAME).return_bounds == (0.0, 50.0)
    assert normalized_return(NAME, 25.0) == pytest.approx(0.5)  # the factory's return_bounds


def test_a_tiny_fit_trains_on_it(tmp_path: Path) -> None:
    summary = fit(compose_config([f"env.name={NAME}", *TINY], tmp_path / "run"))
    pretrain = summary["pretrain"]
    assert pretrain["frames"] == 1600 and 0.0 <= pretrain["return_normalized"] <= 1.0


@pytest.mark.parametrize(
    ("name", "error", "says"),
    [
        ("tests.envs.no_such_module:make_env", ValueError, "cannot import module 'tests.envs.no_such_module'"),
        ("tests.envs.match_env:make_nothing", ValueError, "has no attribute 'make_nothing'"),
        ("tests.envs.match_env:torch", ValueError, "non-callable 'torch'"),
        ("tests.envs.test_external_env:not_an_env", TypeError, "returned a dict, not a TorchRL EnvBase"),
        ("json", ValueError, "Unknown env 'json'"),  # no ':': nothing is imported
    ],
)
def test_bad_names_fail_before_anything_is_written(tmp_path: Path, name: str, error: type, says: str) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(error, match=re.escape(f"env.name={name!r}")) as caught:
        fit(compose_config([f"env.name={name}", *TINY], run_dir))
    assert says in str(caught.value)
    assert not run_dir.exists()


def test_a_name_from_someone_elses_file_imports_nothing() -> None:
    """A module:function that reached the registry without the user passing it (e.g. read from a run dir's pi0.pt)
    is refused, and its module is never imported."""
    code = (
        "import sys\nfrom batpal.envs.registry import check_env_name\n"
        f"try:\n    check_env_name({NAME!r})\nexcept ValueError as err:\n"
        "    print('refused', 'was not given it' in str(err), 'tests.envs.match_env' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=README.parent, check=True)
    assert out.stdout.strip() == "refused True False"
