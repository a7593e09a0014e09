"""``python -m batpal.attack experiment=<name> attack=act|dyn1|dyn2 defender=<run dir>``: train an RL attack.

The adversary plays a uniformly drawn victim's slot against the frozen defender of ``defender``; the run directory
gets ``attack.pt`` and ``summary.json["attack"]`` (``batpal.stages.attack``).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from batpal.stages.attack import train_attack

__all__ = ["train_attack"]


@hydra.main(version_base="1.3", config_path="../configs", config_name="attack")
def main(cfg: DictConfig) -> None:
    train_attack(cfg)


if __name__ == "__main__":
    main()
