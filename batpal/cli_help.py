"""``--help`` of the entry points: Hydra's help template (``hydra.help`` in each ``configs/<command>.yaml``), with
``$APP_CONFIG_GROUPS`` listing only the config groups the command reads.

Hydra fills ``$APP_CONFIG_GROUPS`` with every group it can find under the search path and in the ConfigStore,
whatever the template shows: ``batpal.fit --help`` would list ``attack/`` and the typed schemas' groups, and each
group costs a copy of the config repository (~0.1 s with the typed schemas: over 10 s in all). Here the groups are
the command's own, those its defaults list chose (``hydra.runtime.choices``), and ``$HYDRA_CONFIG_GROUPS`` is only
computed where a template shows it (``--hydra-help`` keeps Hydra's own).
"""

from __future__ import annotations

import string
from argparse import ArgumentParser
from typing import Any

from hydra._internal.hydra import Hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

_HYDRA_GET_HELP = Hydra.get_help


def command_groups() -> list[str]:
    """The config groups the running command's defaults list chose from (not Hydra's own ``hydra/*``)."""
    choices = HydraConfig.get().runtime.choices
    return sorted(g for g in choices if g != "hydra" and not g.startswith("hydra/"))


def _get_help(self: Hydra, help_cfg: DictConfig, cfg: DictConfig, args_parser: ArgumentParser, resolve: bool) -> str:
    """Hydra's ``get_help`` with the command's own groups; falls back to Hydra's where no job config is set."""
    if not HydraConfig.initialized():  # --hydra-help: Hydra's own listing
        return _HYDRA_GET_HELP(self, help_cfg, cfg, args_parser, resolve)
    template = string.Template(str(help_cfg.template))
    shown = set(template.get_identifiers())  # compute only what the template shows
    values: dict[str, Any] = {}
    if "APP_CONFIG_GROUPS" in shown:
        options = {g: sorted(self.config_loader.get_group_options(g)) for g in command_groups()}
        values["APP_CONFIG_GROUPS"] = "\n".join(f"{g}: {', '.join(o)}" for g, o in options.items())
    if "HYDRA_CONFIG_GROUPS" in shown:
        values["HYDRA_CONFIG_GROUPS"] = self.format_config_groups(lambda g: g.startswith("hydra/"))
    if "FLAGS_HELP" in shown:
        values["FLAGS_HELP"] = self.format_args_help(args_parser)
    if "CONFIG" in shown:
        values["CONFIG"] = OmegaConf.to_yaml(cfg, resolve=resolve)
    return template.substitute(values)


def use_command_help() -> None:
    """Install the command-groups ``--help`` (idempotent); each entry point calls it at import."""
    Hydra.get_help = _get_help  # type: ignore[method-assign]
