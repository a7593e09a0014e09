"""``python -m batpal.reproduce experiment=<name> seeds=[0,1,2]``: Figure 2 (and ``reproduce.tables=[...]``) end to
end; see ``configs/reproduce.yaml`` and ``batpal.reproduce.run``."""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from batpal.cli_help import use_command_help

use_command_help()  # --help lists only this command's config groups; torch & co. load in ``main``


@hydra.main(version_base="1.3", config_path="../../configs", config_name="reproduce")
def main(cfg: DictConfig) -> None:
    """The command's own overrides reach the steps; its launcher (``hydra/launcher=...``) runs them."""
    from batpal.console.session import announce, command_session
    from batpal.console.summary_table import read_summary, reproduce_table
    from batpal.reproduce.run import reproduce

    hydra_cfg = HydraConfig.get()
    launcher = hydra_cfg.runtime.choices.get("hydra/launcher")
    hydra_overrides = [f"hydra/launcher={launcher}", *hydra_cfg.overrides.hydra] if launcher else [
        *hydra_cfg.overrides.hydra
    ]
    with command_session(cfg.run_dir, "reproduce"):  # <run dir>/reproduce.log; known third-party noise silenced
        reproduce(cfg, list(hydra_cfg.overrides.task), hydra_overrides)
        if not cfg.reproduce.dry_run:
            announce(reproduce_table(read_summary(cfg.run_dir), cfg.run_dir))


if __name__ == "__main__":
    main()
