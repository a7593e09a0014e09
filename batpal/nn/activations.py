"""Activation names usable from configs (``model.activation``)."""

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


def activation_class(name: str) -> type[nn.Module]:
    """The nn.Module class for ``name``; a clear error lists the known names."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS[name]
