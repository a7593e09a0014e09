"""An adversary trained inside a game run (BATPAL's psi_k, a baseline's psi_1) as an ``attack.pt``, so that KT can
train against it (``game.fixed_adversaries``)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from batpal.atomic import save_weights
from batpal.attacks.trained import ATTACK_FILE
from batpal.eval.defenders import GameDefender, load_defender


def export_adversary(source: Path, net: int, dest: Path) -> Path:
    """psi_``net`` of the finished game run ``source`` -> ``dest/attack.pt`` (the format of ``batpal.attacks``)."""
    defender = load_defender(source)
    if not isinstance(defender, GameDefender):
        raise ValueError(f"{source} trains no adversaries (no adversarial stage): nothing to export.")
    if not 1 <= net <= defender.K:
        raise ValueError(f"{source} has psi_1..psi_{defender.K}; psi_{net} asked for.")
    model = OmegaConf.load(source / "config.yaml").model
    weights = defender.module.adversaries.nets[net - 1].state_dict()
    payload = {
        "kind": f"psi_{net}",
        "env": defender.env_name,
        "dims": {str(k): int(v) for k, v in defender.dims.items()},
        "hidden": [int(h) for h in model.hidden],
        "activation": str(model.activation),
        "c": 0.0,
        "defender": str(Path(source).resolve()),
        "state_dict": {k: v.detach().cpu().clone() for k, v in weights.items()},
    }
    dest.mkdir(parents=True, exist_ok=True)
    save_weights(payload, dest / ATTACK_FILE, "exported adversary")
    return dest / ATTACK_FILE
