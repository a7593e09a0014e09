"""A step of a reproduction: one job (``batpal.fit``, ``batpal.attack``, ``batpal.evaluate`` or an export) with its
own run directory ``<root>/seed<k>/<name>/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KINDS = ("fit", "attack", "evaluate", "export")
CONFIG_NAMES = {"fit": "fit", "attack": "attack", "evaluate": "evaluate"}  # the entry point's configs/<name>.yaml


@dataclass(frozen=True)
class Step:
    """``overrides`` are the entry point's (the command's own, the budgets, seed and run dir come on top);
    ``needs`` the steps of the same seed whose outputs it reads, ``share`` those whose pi0 / calibration is copied
    into its run dir first, ``rows`` (evaluate) the (row label, attack spec) pairs it plays."""

    seed: int
    name: str
    kind: str
    overrides: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    share: tuple[str, ...] = ()
    rows: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """``seed<k>/<name>``: unique in a reproduction, and the run dir under its root."""
        return f"seed{self.seed}/{self.name}"

    def run_dir(self, root: Path) -> Path:
        return root / self.key

    def need_keys(self) -> list[str]:
        return [f"seed{self.seed}/{name}" for name in self.needs]
