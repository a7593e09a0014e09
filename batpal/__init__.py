"""batpal: Bayesian Type-Partitioned Adversarial Learning on TorchRL and Lightning."""

__version__ = "0.1.0"
