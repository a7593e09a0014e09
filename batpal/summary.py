"""``summary.json``: one entry per finished stage with its headline figures (ARCHITECTURE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from batpal.atomic import write_text_atomic


class Summary:
    """Read-modify-write of ``<run dir>/summary.json``; a stage's entry is replaced whole."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def stage(self, name: str) -> dict[str, Any] | None:
        return self.read().get(name)

    def write_stage(self, name: str, figures: dict[str, Any]) -> None:
        data = self.read()
        data[name] = figures
        write_text_atomic(self.path, json.dumps(data, indent=2, sort_keys=True))  # a kill never leaves half a file
