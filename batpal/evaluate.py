"""``python -m batpal.evaluate experiment=<name> defenders=[<run dir>,...] attacks=[...]``: the cross table.

Every attack against every defender -> ``cross_table.csv``, ``cross_table.png`` and ``learning_curves.png`` in the
run directory (``batpal.eval.run``); with ``render=true`` also a video per (defender, attack, victim) in
``videos/`` (``batpal.render``).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from batpal.cli_help import use_command_help

use_command_help()  # --help lists only this command's config groups; torch & co. load in ``main``


def __getattr__(name: str):  # ``from batpal.evaluate import evaluate``, imported on first use
    if name == "evaluate":
        from batpal.eval.run import evaluate

        return evaluate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hydra.main(version_base="1.3", config_path="../configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from batpal.console.session import announce, command_session
    from batpal.console.summary_table import evaluate_table, read_summary
    from batpal.eval.run import evaluate
    from batpal.render.videos import RenderSettings, render_evaluation

    render = RenderSettings.of(cfg)  # render=true: its settings and the render extra checked before any episode
    with command_session(cfg.run_dir, "evaluate", trains=False):  # <run dir>/evaluate.log; known noise silenced
        evaluate(cfg)
        if render is not None:  # videos of separate episodes: the cross table above is already written
            render_evaluation(cfg, render)
        announce(evaluate_table(read_summary(cfg.run_dir), cfg.run_dir))


if __name__ == "__main__":
    main()
