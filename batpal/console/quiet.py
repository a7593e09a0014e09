"""Third-party messages that tell a batpal user nothing, silenced one by one at their source (never globally).

Each filter names the exact message and the module that emits it, so any other warning still shows. Install with
``silence_known_noise()`` where a command starts, inside ``warnings.catch_warnings()``, which undoes the warning
filters afterwards (torchrl's level and the filter on Lightning's lines stay for the process)."""

from __future__ import annotations

import logging
import os
import re
import warnings

# (message regex, category, module regex): Lightning's own notes on choices batpal makes on purpose.
KNOWN_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # RolloutModule.training_step takes the dataloader iterator: the collector is driven from the module
    (r"You are using the `dataloader_iter` step flavor", UserWarning,
     r"lightning\.pytorch\.trainer\.configuration_validator"),
    (r"Found `dataloader_iter` argument in the `training_step`", UserWarning, r"lightning\.pytorch\.loops\.utilities"),
    # checkpoints/last.ckpt is the previous stage's, replaced on purpose (one last.ckpt per run dir)
    (r"Checkpoint directory .* exists and is not empty", UserWarning,
     r"lightning\.pytorch\.callbacks\.model_checkpoint"),
    # the frozen networks a stage plays against (pi0, the attacked defender) are in eval mode on purpose
    (r"Found \d+ module\(s\) in eval mode at the start of training", UserWarning,
     r"lightning\.pytorch\.loops\.fit_loop"),
    # Lightning's internal use of torch's deprecated LeafSpec; nothing a user can change
    (re.escape("`isinstance(treespec, LeafSpec)` is deprecated"), FutureWarning,
     r"lightning\.pytorch\.utilities\._pytree"),
)

# Lightning's lines at every Trainer that say nothing to a user: an advertisement for its cloud services, and the
# end of its epoch budget (a stage's budget is frames; its bar and the end table say when it is done)
LIGHTNING_NOISE = ("💡 Tip:", "`Trainer.fit` stopped: `max_epochs=")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(LIGHTNING_NOISE)


def silence_known_noise() -> None:
    """Filter ``KNOWN_WARNINGS``; torchrl logs only warnings (its INFO lines carry colour codes; torchrl reads
    ``RL_LOGGING_LEVEL`` when imported, a user's setting wins); ``LIGHTNING_NOISE`` is dropped."""
    for message, category, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    os.environ.setdefault("RL_LOGGING_LEVEL", "WARNING")  # also for DDP worker ranks, which rerun the command
    logging.getLogger("torchrl").setLevel(os.environ["RL_LOGGING_LEVEL"])  # in case torchrl is imported already
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):  # rank_zero_info's
        noise = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in noise.filters):
            noise.addFilter(_DropNoise())
