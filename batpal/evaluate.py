"""``python -m batpal.evaluate experiment=<name> defenders=[<run dir>,...] attacks=[...]``: the cross table.

Every attack against every defender -> ``cross_table.csv``, ``cross_table.png`` and ``learning_curves.png`` in the
run directory (``batpal.eval.run``).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from batpal.eval.run import evaluate

__all__ = ["evaluate"]


@hydra.main(version_base="1.3", config_path="../configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
