"""Attacks for evaluation: built-ins (none, random, noop), learnt adversaries and user policies; ``make_attack``."""

from batpal.attacks.base import Attack
from batpal.attacks.network import NetworkAttack
from batpal.attacks.registry import known_attacks, make_attack

__all__ = ["Attack", "NetworkAttack", "known_attacks", "make_attack"]
