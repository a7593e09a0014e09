"""The stages of ``batpal.fit``, each caching its output in the run directory."""

from batpal.stages.adversarial import run_adversarial
from batpal.stages.calibrate import run_calibrate
from batpal.stages.pretrain import run_pretrain

__all__ = ["run_adversarial", "run_calibrate", "run_pretrain"]
