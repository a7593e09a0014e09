"""``python -m batpal.attack experiment=<name> attack=act|dyn1|dyn2 defender=<run dir>``: train an RL attack.

The adversary plays a uniformly drawn victim's slot against the frozen defender of ``defender``; the run directory
gets ``attack.pt`` and ``summary.json["attack"]`` (``batpal.stages.attack``).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from batpal.cli_help import use_command_help

use_command_help()  # --help lists only this command's config groups; torch & co. load in ``main``


def __getattr__(name: str):  # ``from batpal.attack import train_attack``, imported on first use
    if name == "train_attack":
        from batpal.stages.attack import train_attack

        return train_attack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hydra.main(version_base="1.3", config_path="../configs", config_name="attack")
def main(cfg: DictConfig) -> None:
    from batpal.console.banner import stage_banner
    from batpal.console.session import announce, command_session
    from batpal.console.summary_table import attack_table, read_summary
    from batpal.stages.attack import train_attack

    with command_session(cfg.run_dir, "attack"):  # <run dir>/attack.log; known third-party noise silenced
        resumed = "; resumed" if cfg.ckpt_path else ""
        note = f"attack {cfg.attack.name}, c={cfg.attack.c}, defender {cfg.defender}{resumed}"
        announce(stage_banner("attack", int(cfg.attack.frames), cfg.run_dir, note))
        if train_attack(cfg) is not None:  # rank 0 wrote the summary
            announce(attack_table(read_summary(cfg.run_dir), cfg.run_dir))


if __name__ == "__main__":
    main()
