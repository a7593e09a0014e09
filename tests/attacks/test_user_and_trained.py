"""User attacks from ``file.py:name`` and trained attacks from ``attack.pt``: loading, inputs, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchrl.modules import MLP

from batpal.attacks import make_attack
from batpal.nn.adversary import adversary_input
from tests.attacks.test_builtin import batch

USER_FILE = """
import torch
from tensordict.nn import TensorDictModule

def own_index(obs):
    return obs[:, 0].long()          # the victim's own observation: its index

def first_legal_above_one(obs, mask):
    return (mask & (torch.arange(mask.shape[-1]) > 1)).int().argmax(-1)

td_module = TensorDictModule(lambda obs: obs[:, 0].long() + 1, in_keys=["observation"], out_keys=["action"])
NOT_CALLABLE = 3
"""


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "my_attacks.py"
    path.write_text(USER_FILE)
    return path


def test_user_functions_see_the_victims_observation_and_mask(user_file):
    assert make_attack(f"{user_file}:own_index")(batch([0, 2, 1]))["adversary", "action"].tolist() == [0, 2, 1]
    mask = torch.ones(2, 3, 5, dtype=torch.bool)
    mask[0, 1, 2] = False
    attack = make_attack(f"{user_file}:first_legal_above_one")
    assert attack.label == "first_legal_above_one"
    assert attack(batch([1, 1], mask))["adversary", "action"].tolist() == [3, 2]
    assert make_attack(f"{user_file}:td_module")(batch([0, 1]))["adversary", "action"].tolist() == [1, 2]


def test_user_attack_errors(user_file, tmp_path):
    with pytest.raises(FileNotFoundError, match="attack file .*missing.py .* does not exist"):
        make_attack(f"{tmp_path}/missing.py:fn")
    with pytest.raises(ValueError, match=r"defines no 'nope'; its callables: .*own_index"):
        make_attack(f"{user_file}:nope")
    with pytest.raises(TypeError, match="'NOT_CALLABLE' is a int, not a callable"):
        make_attack(f"{user_file}:NOT_CALLABLE")


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "typo.py"
    path.write_text("import torch\n\ndef attack(obs:\n    return obs[:, 0].long()\n")
    with pytest.raises(ValueError, match=rf"attack file {path}, line 3: SyntaxError: .*def attack\(obs:") as caught:
        make_attack(f"{path}:attack")
    assert isinstance(caught.value.__cause__, SyntaxError)


def test_an_exception_while_importing_names_the_file_and_line(tmp_path):
    path = tmp_path / "raises.py"
    path.write_text("import torch\n\nTABLE = {}\nWEIGHTS = TABLE['missing']\n\ndef attack(obs):\n    return obs\n")
    with pytest.raises(ValueError, match=rf"attack file {path}, line 4: importing it raised KeyError: 'missing'") as e:
        make_attack(f"{path}:attack")
    assert isinstance(e.value.__cause__, KeyError)
    path.write_text("import not_a_module_batpal_knows\n")
    with pytest.raises(ValueError, match=rf"{path}, line 1: importing it raised ModuleNotFoundError: No module named"):
        make_attack(f"{path}:attack")


def test_non_integer_actions_are_refused_not_truncated(tmp_path):
    path = tmp_path / "floats.py"
    path.write_text(
        "def nearly_two(obs):\n    return obs[:, 0] * 0 + 1.9\n\ndef flags(obs):\n    return obs[:, 0] > 0\n"
    )
    with pytest.raises(TypeError, match=r"attack 'nearly_two' returned actions of dtype torch\.float32.*not truncated"):
        make_attack(f"{path}:nearly_two")(batch([0, 1]))
    with pytest.raises(TypeError, match=r"attack 'flags' returned actions of dtype torch\.bool"):
        make_attack(f"{path}:flags")(batch([0, 1]))


def _save_attack(path, env="mpe_spread", kind="dyn1") -> nn.Module:
    net = MLP(in_features=18 + 3, out_features=5, num_cells=[16], activation_class=nn.Tanh)
    payload = {
        "kind": kind,
        "env": env,
        "dims": {"n_agents": 3, "obs_dim": 18, "n_actions": 5, "state_dim": 54},
        "hidden": [16],
        "activation": "tanh",
        "c": 0.5,
        "defender": "runs/x",
        "state_dict": net.state_dict(),
    }
    path.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path / "attack.pt")
    return net


def test_trained_attack_loads_its_mlp_from_a_run_dir_or_file(tmp_path):
    net = _save_attack(tmp_path / "dyn1")
    attack = make_attack(str(tmp_path / "dyn1"))
    assert attack.label == "DYN-1" and attack.meta == {"kind": "dyn1", "c": 0.5, "defender": "runs/x"}
    assert make_attack(str(tmp_path / "dyn1" / "attack.pt")).label == "DYN-1"
    x = adversary_input(torch.randn(4, 3, 18), torch.tensor([0, 1, 2, 0]), 3)
    assert torch.allclose(attack.net(x), net(x))
    mask = torch.zeros(64, 3, 5, dtype=torch.bool)
    mask[:, :, 4] = True
    assert make_attack(str(tmp_path / "dyn1"))(batch([1] * 64, mask, obs=18))["adversary", "action"].eq(4).all()


def test_trained_attack_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no attack.pt"):
        make_attack(str(tmp_path / "empty"))
    torch.save({"kind": "act"}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not an attack checkpoint: it lacks env, dims"):
        make_attack(str(tmp_path / "bad.pt"))


def test_a_missing_attack_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such attack run directory or attack.pt"):
        make_attack(str(tmp_path / "act_run"))
