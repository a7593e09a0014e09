"""Attacks trained by ``python -m batpal.attack`` (ACT, DYN-1, DYN-2), loaded from an attack run's ``attack.pt``.

``attack.pt`` holds ``kind`` ("act" / "dyn1" / "dyn2"), ``env``, ``dims``, ``hidden``, ``activation``, ``c`` (the
detectability weight), ``defender`` (the run it was trained against) and ``state_dict``: the weights of
``MLP(obs_dim + n_agents -> n_actions)`` fed with ``adversary_input``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torchrl.modules import MLP

from batpal.attacks.network import NetworkAttack
from batpal.nn.activations import activation_class
from batpal.safe_load import load_weights

ATTACK_WEIGHTS = "attack.pt"
KIND_LABELS = {"act": "ACT", "dyn1": "DYN-1", "dyn2": "DYN-2"}
FIELDS = ("kind", "env", "dims", "hidden", "activation", "state_dict")


def attack_file(path: str | Path) -> Path | None:
    """``path`` itself if it is an ``attack.pt`` file, ``path/attack.pt`` if that exists, else None."""
    path = Path(path)
    if path.is_file() and path.suffix == ".pt":
        return path
    return path / ATTACK_WEIGHTS if (path / ATTACK_WEIGHTS).is_file() else None


def load_trained_attack(path: str | Path, label: str | None = None) -> NetworkAttack:
    """The frozen attack of ``attack.pt`` (or a run directory holding one); clear errors for a bad file."""
    file = attack_file(path)
    if file is None:
        raise FileNotFoundError(f"{path} is neither an {ATTACK_WEIGHTS} file nor a directory holding one.")
    payload: dict[str, Any] = load_weights(file, "attack")  # data only: a file holding code is refused
    if not isinstance(payload, dict):
        raise ValueError(f"{file} is not an attack checkpoint: it holds a {type(payload).__name__}, not a dict.")
    missing = [key for key in FIELDS if key not in payload]
    if missing:
        raise ValueError(f"{file} is not an attack checkpoint: it lacks {', '.join(missing)}.")
    dims = payload["dims"]
    net = MLP(
        in_features=dims["obs_dim"] + dims["n_agents"],
        out_features=dims["n_actions"],
        num_cells=list(payload["hidden"]),
        activation_class=activation_class(payload["activation"]),
    )
    try:
        net.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{file}: the weights do not fit the MLP its metadata describes: {err}") from err
    kind = str(payload["kind"])
    attack = NetworkAttack(net, dims["n_agents"], label or KIND_LABELS.get(kind, kind.upper()), payload["env"])
    attack.dims, attack.meta = dict(dims), {k: payload.get(k) for k in ("kind", "c", "defender")}
    return attack
