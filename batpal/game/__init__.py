"""The game: the type space Z (eq. 2), its prior, and the severity bands (eq. 3)."""

from batpal.game.bands import Bands
from batpal.game.types import BENIGN, TypePrior, TypeSpace

__all__ = ["BENIGN", "Bands", "TypePrior", "TypeSpace"]
