"""Known third-party noise is silenced by exact message and module; any other warning still shows."""

from __future__ import annotations

import logging
import warnings

import pytest

from batpal.console.quiet import silence_known_noise

# (message, category, emitting module) as Lightning 2.6 emits them
KNOWN = [
    ("You are using the `dataloader_iter` step flavor. If you consume the iterator more than once per step, ...",
     UserWarning, "lightning.pytorch.trainer.configuration_validator"),
    ("Found `dataloader_iter` argument in the `training_step`. Note that the support for this signature is "
     "experimental and the behavior is subject to change.", UserWarning, "lightning.pytorch.loops.utilities"),
    ("Checkpoint directory /runs/x/checkpoints exists and is not empty.", UserWarning,
     "lightning.pytorch.callbacks.model_checkpoint"),
    ("Found 51 module(s) in eval mode at the start of training. This may lead to unexpected behavior during "
     "training. If this is intentional, you can ignore this warning.", UserWarning, "lightning.pytorch.loops.fit_loop"),
    ("`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec) and treespec.is_leaf()` "
     "instead.", FutureWarning, "lightning.pytorch.utilities._pytree"),
]


def _emit(message: str, category: type[Warning], module: str) -> None:
    warnings.warn_explicit(message, category, f"/site-packages/{module.replace('.', '/')}.py", 1, module=module)


@pytest.fixture(autouse=True)
def _restore_levels(monkeypatch):
    """``silence_known_noise`` sets RL_LOGGING_LEVEL (unless set) and torchrl's level: undone after each test."""
    monkeypatch.setenv("RL_LOGGING_LEVEL", "unset")
    monkeypatch.delenv("RL_LOGGING_LEVEL")
    torchrl = logging.getLogger("torchrl")
    level = torchrl.level
    yield
    torchrl.setLevel(level)


def test_only_the_known_warnings_from_their_own_modules_are_silenced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # show everything not filtered below (inside this block only)
        silence_known_noise()
        for message, category, module in KNOWN:
            _emit(message, category, module)
        _emit(KNOWN[2][0], UserWarning, "batpal.stages.trainer")  # the same text from elsewhere is not silenced
        _emit("Checkpoint directory /runs/x/checkpoints exists and is not empty.", DeprecationWarning,
              "lightning.pytorch.callbacks.model_checkpoint")  # nor another category
        warnings.warn("an unrelated user warning", UserWarning, stacklevel=1)
    shown = [(str(w.message), w.category) for w in caught]
    assert shown == [(KNOWN[2][0], UserWarning), (KNOWN[2][0], DeprecationWarning),
                     ("an unrelated user warning", UserWarning)]


def test_torchrl_info_and_lightning_noise_are_dropped_other_lines_kept():
    silence_known_noise()
    assert logging.getLogger("torchrl").getEffectiveLevel() == logging.WARNING
    lightning = logging.getLogger("lightning.pytorch.utilities.rank_zero")

    def kept(msg: str) -> bool:
        return lightning.filter(logging.makeLogRecord({"msg": msg, "levelno": logging.INFO}))

    assert not kept("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]")
    assert not kept("`Trainer.fit` stopped: `max_epochs=2` reached.")
    assert kept("GPU available: True (cuda), used: False")
