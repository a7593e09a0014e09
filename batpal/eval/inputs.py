"""The inputs of one evaluation, checked before any episode: defenders (parsed, loaded, one env, one victim
count m) and attacks (every row's label its own)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from batpal.attacks.base import Attack
from batpal.eval.defenders import Defender, load_defender


def parse_defenders(spec: Any) -> list[tuple[str | None, Path]]:
    """(label or None, run dir) from a list of ``dir`` / ``label=dir`` strings or a mapping label -> dir."""
    if isinstance(spec, Mapping | DictConfig):
        return [(str(label), Path(str(d))) for label, d in spec.items()]
    if spec is None:
        spec = []
    elif isinstance(spec, str):
        spec = [spec]
    out: list[tuple[str | None, Path]] = []
    for item in spec:
        label, sep, path = str(item).partition("=")
        out.append((label, Path(path)) if sep and label and path else (None, Path(str(item))))
    if not out:
        raise ValueError("no defenders given: defenders=[<run dir>,...] (run directories of batpal.fit).")
    return out


def load_defenders(specs: Sequence[tuple[str | None, Path]], severity: int = 1) -> list[Defender]:
    """Every defender loaded (a missing directory or checkpoint fails here); repeated labels made unique."""
    defenders = [load_defender(path, label, severity) for label, path in specs]
    seen: dict[str, int] = {}
    for d in defenders:
        if d.name in seen:
            seen[d.name] += 1
            d.name = f"{d.name} ({d.run_dir.name})" if seen[d.name] == 1 else f"{d.name} #{seen[d.name] + 1}"
            while d.name in seen:
                d.name += "'"
        seen.setdefault(d.name, 0)
    return defenders


def check_same_env(defenders: Sequence[Defender], env_name: str | None = None) -> None:
    """All defenders trained on one env (name, kwargs, sizes, episode length), the experiment's if given."""
    first = defenders[0]
    for d in defenders[1:]:
        mine = (d.env_name, d.env_kwargs, d.dims, d.max_episode_steps)
        theirs = (first.env_name, first.env_kwargs, first.dims, first.max_episode_steps)
        if mine != theirs:
            raise ValueError(
                f"defenders play different envs: {first.name} ({first.run_dir}) {theirs} vs {d.name} ({d.run_dir}) "
                f"{mine} as (env, kwargs, sizes, episode steps)."
            )
    if env_name is not None and env_name != first.env_name:
        raise ValueError(
            f"the experiment plays {env_name!r} but the defenders were trained on {first.env_name!r}: "
            f"pass experiment=<the defenders' experiment>."
        )


def set_victims(defenders: Sequence[Defender], victims: int | None = None) -> int:
    """The number m of simultaneous victims, given to every defender: ``victims``, else the defenders' common
    ``game.victims``; a BATPAL-family defender only takes its own m, and defenders of different m need ``victims``
    (MAPPO teams take any m)."""
    if victims is None:
        counts = {d.name: d.victims for d in defenders}
        if len(set(counts.values())) > 1:
            raise ValueError(
                f"defenders were trained with different game.victims: {counts}; evaluate them separately or pass "
                "victims=<m> (a BATPAL-family defender only takes its own m, MAPPO any)."
            )
        victims = defenders[0].victims
    victims = int(victims)
    if victims < 1:
        raise ValueError(f"victims must be >= 1 (agents attacked at once), got {victims}.")
    for d in defenders:
        d.set_victims(victims)
    return victims


def unique_labels(attacks: list[Attack]) -> list[Attack]:
    """Repeated attack labels (two runs' ACT) numbered so that every row of the table is its own."""
    counts: dict[str, int] = {}
    for attack in attacks:
        counts[attack.label] = counts.get(attack.label, 0) + 1
        if counts[attack.label] > 1:
            attack.label = f"{attack.label} #{counts[attack.label]}"
    return attacks
