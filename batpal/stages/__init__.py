"""The stages of ``batpal.fit``, each caching its output in the run directory."""

from batpal.stages.pretrain import run_pretrain

__all__ = ["run_pretrain"]
