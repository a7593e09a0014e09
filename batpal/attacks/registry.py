"""``make_attack(spec)``: an attack from its name, as given to ``python -m batpal.evaluate attacks=[...]``.

Specs: ``none``, ``random``, ``noop``; ``severity_k`` = psi_k of the first BATPAL-family defender given (one with
``defender.pt``), ``severity_k@<run dir>`` = psi_k of that run; ``a_<label>`` = the adversary trained inside a
baseline run (its psi_1), ``<label>`` a defender's label or a run directory; an attack run directory (or its
``attack.pt``) from ``python -m batpal.attack``; ``path/to/file.py:name`` for a user's function or module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from batpal.attacks.base import Attack
from batpal.attacks.checkpoint import ATTACK_WEIGHTS, attack_file, load_trained_attack
from batpal.attacks.network import NetworkAttack
from batpal.attacks.none import NoAttack
from batpal.attacks.noop import NoopAttack
from batpal.attacks.uniform import RandomAttack
from batpal.attacks.user import is_user_spec, load_user_attack
from batpal.eval.defenders import Defender, GameDefender, load_defender

BUILTINS: dict[str, Callable[[], Attack]] = {"none": NoAttack, "random": RandomAttack, "noop": NoopAttack}
SEVERITY = re.compile(r"severity_(\d+)(?:@(.+))?")


def make_attack(spec: str, defenders: Sequence[Defender] = ()) -> Attack:
    """The attack named ``spec`` (see the module doc), checked against the defenders' env; clear errors else."""
    spec = str(spec).strip()
    if spec in BUILTINS:
        return BUILTINS[spec]()
    if match := SEVERITY.fullmatch(spec):
        attack = _severity(int(match[1]), match[2], defenders)
    elif spec.startswith("a_"):
        attack = _baseline_adversary(spec[2:], defenders)
    elif is_user_spec(spec):
        return load_user_attack(spec)
    elif attack_file(spec) is not None:
        attack = load_trained_attack(spec)
    elif Path(spec).exists():
        raise FileNotFoundError(f"attack {spec!r}: {spec} holds no {ATTACK_WEIGHTS} (train one with batpal.attack).")
    elif "/" in spec or spec.endswith(".pt"):
        raise FileNotFoundError(f"attack {spec!r}: no such attack run directory or {ATTACK_WEIGHTS} file.")
    else:
        raise ValueError(f"unknown attack {spec!r}; known: {', '.join(known_attacks(defenders))}.")
    _check_env(attack, defenders)
    return attack


def known_attacks(defenders: Sequence[Defender] = ()) -> list[str]:
    """Every name ``make_attack`` accepts with these defenders, plus the path forms."""
    names = list(BUILTINS)
    game = [d for d in defenders if isinstance(d, GameDefender)]
    if game:
        names += [f"severity_{k}" for k in range(1, game[0].K + 1)]
    names += [f"a_{d.name}" for d in game]
    return [*names, "severity_<k>@<run dir>", "a_<run dir>", "<attack run dir>", "<file.py>:<name>"]


def _severity(k: int, run_dir: str | None, defenders: Sequence[Defender]) -> NetworkAttack:
    """psi_k of ``run_dir``, or of the first BATPAL-family defender when unqualified."""
    if run_dir is not None:
        source = _game_defender(run_dir, f"severity_{k}@{run_dir}")
    else:
        game = [d for d in defenders if isinstance(d, GameDefender)]
        if not game:
            raise ValueError(
                f"severity_{k} is psi_{k} of the first BATPAL defender, and none of the defenders has "
                "defender.pt; name the run explicitly: severity_<k>@<run dir>."
            )
        source = game[0]
    if not 1 <= k <= source.K:
        raise ValueError(f"severity_{k}: {source.run_dir} has K = {source.K} adversaries (severity_1..{source.K}).")
    label = f"Severity {k}" if run_dir is None else f"Severity {k} ({source.name})"
    return NetworkAttack(source.module.adversaries.nets[k - 1], source.n_agents, label, source.env_name)


def _baseline_adversary(name: str, defenders: Sequence[Defender]) -> NetworkAttack:
    """A-X: the adversary trained inside baseline X (for now its psi_1), X a defender label or a run directory."""
    named = {d.name: d for d in defenders}
    if name in named:
        source = named[name]
        if not isinstance(source, GameDefender):
            raise ValueError(f"a_{name}: defender {name} ({source.run_dir}) trains no adversary (no defender.pt).")
    elif Path(name).is_dir():
        source = _game_defender(name, f"a_{name}")
    else:
        raise ValueError(f"unknown attack 'a_{name}'; known: {', '.join(known_attacks(defenders))}.")
    return NetworkAttack(source.module.adversaries.nets[0], source.n_agents, f"A-{source.name}", source.env_name)


def _game_defender(run_dir: str, spec: str) -> GameDefender:
    source = load_defender(run_dir)
    if not isinstance(source, GameDefender):
        raise ValueError(f"{spec}: {run_dir} has no defender.pt, so no trained adversaries psi_k.")
    return source


def _check_env(attack: Attack, defenders: Sequence[Defender]) -> None:
    """A learnt attack must come from the defenders' env (same observation and action sizes)."""
    env = getattr(attack, "env_name", None)
    if defenders and env is not None and env != defenders[0].env_name:
        raise ValueError(
            f"attack {attack.label!r} was trained on {env!r}, the defenders play {defenders[0].env_name!r}."
        )
    dims = getattr(attack, "dims", None)
    if defenders and dims is not None:
        mine = {k: dims[k] for k in ("n_agents", "obs_dim", "n_actions")}
        theirs = {k: defenders[0].dims[k] for k in mine}
        if mine != theirs:
            raise ValueError(f"attack {attack.label!r} has sizes {mine}, the defenders {theirs}.")
