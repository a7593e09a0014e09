"""A user's Lightning callback that warns once when training starts: an unrelated warning that must still show."""

from __future__ import annotations

import warnings

from lightning.pytorch.callbacks import Callback

from tests.console import USER_WARNING


class WarnAtStart(Callback):
    def on_train_start(self, trainer, pl_module) -> None:
        warnings.warn(USER_WARNING, UserWarning, stacklevel=1)
