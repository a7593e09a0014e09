"""batpal: Bayesian Type-Partitioned Adversarial Learning on TorchRL and Lightning."""

__version__ = "0.1.0"

from batpal.config import register_configs as _register_configs

_register_configs()  # the typed schemas behind configs/*.yaml, for @hydra.main and hydra.compose alike
