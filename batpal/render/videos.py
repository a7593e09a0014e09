"""The videos of one evaluation: every (defender, attack, victim) in the cross table's order, ``render_episodes``
episodes each, into ``<run dir>/videos/<defender>__<attack>__victim<v>.<gif|mp4>`` (``victim<a>-<b>`` for a victim
set, ``__novictim`` for an attack on nobody, ``__ep<e>`` appended when more than one episode is drawn; labels
sanitised for file names).

Episode e of every video is seeded ``seed + e`` on a batch of one env, so all videos of episode e start from the
same state. The episodes
are played apart from the evaluation (``batpal.render.recording``) and never change its numbers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from omegaconf import DictConfig

from batpal.attacks import make_attack
from batpal.attacks.base import Attack
from batpal.config.validate import validate_render
from batpal.eval.attacked import victims_for
from batpal.eval.defenders import Defender
from batpal.eval.inputs import load_defenders, parse_defenders, set_victims, unique_labels
from batpal.render.caption import stamp
from batpal.render.families import renderer
from batpal.render.recording import record_episode
from batpal.render.writer import check_writer, write_video
from batpal.summary import Summary

log = logging.getLogger(__name__)

VIDEOS = "videos"


@dataclass(frozen=True)
class RenderSettings:
    """``render_*`` of the evaluate config: episodes per (defender, attack, victim), frame rate, frame side, format."""

    episodes: int
    fps: int
    size: int
    format: str

    @classmethod
    def of(cls, cfg: DictConfig) -> RenderSettings | None:
        """The settings when ``render=true`` (validated, the writer's package checked), else None."""
        if not bool(cfg.get("render", False)):
            return None
        validate_render(cfg)
        settings = cls(int(cfg.render_episodes), int(cfg.render_fps), int(cfg.render_size), str(cfg.render_format))
        check_writer(settings.format)
        return settings


def file_label(label: str) -> str:
    """A label as a file-name part: letters, digits, ``.``, ``-`` and ``_`` kept, every other run as one ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "_"


def video_name(defender: str, attack: str, victims: Sequence[int], episode: int, episodes: int, fmt: str) -> str:
    """``<defender>__<attack>__victim<v>`` (a victim set: ``victim<a>-<b>``, its agents), ``__ep<e>`` if several."""
    who = f"victim{'-'.join(map(str, victims))}" if victims else "novictim"
    ep = f"__ep{episode}" if episodes > 1 else ""
    return f"{file_label(defender)}__{file_label(attack)}__{who}{ep}.{fmt}"


def render_videos(
    defenders: Sequence[Defender], attacks: Sequence[Attack], out_dir: Path, settings: RenderSettings, seed: int
) -> list[dict[str, Any]]:
    """Write every video; returns one entry per video (file, defender, attack, victim set, frames, team return)."""
    family = renderer(defenders[0].env_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in [*out_dir.glob("*.gif"), *out_dir.glob("*.mp4")]:  # an earlier evaluation's (overwrite=true)
        old.unlink()
    jobs = [
        (attack, defender, victim, episode)
        for attack in attacks
        for defender in defenders
        for victim in victims_for(attack, defender.space.n_sets, 1).tolist()
        for episode in range(settings.episodes)
    ]
    return [
        draw_video(family, defender, attack, victim, episode, seed, settings, out_dir)
        for attack, defender, victim, episode in jobs
    ]


def draw_video(
    family: ModuleType,
    defender: Defender,
    attack: Attack,
    victim: int,
    episode: int,
    seed: int,
    settings: RenderSettings,
    out_dir: Path,
) -> dict[str, Any]:
    """Record episode ``episode`` (seeded ``seed + episode``) on victim (set) ``victim``, draw, caption and write it."""
    rec = record_episode(defender, attack, victim, seed + episode, family.snapshot, family.meta)
    who = f"victim {', '.join(map(str, rec.victims))} (red)" if rec.victims else "no victim"
    head = f"{defender.name} vs {attack.label}, {who}"
    frames = [stamp(frame, f"t={t}  {head}") for t, frame in enumerate(family.frames(rec, settings.size))]
    name = video_name(defender.name, attack.label, rec.victims, episode, settings.episodes, settings.format)
    write_video(out_dir / name, frames, settings.fps)
    return {
        "file": f"{VIDEOS}/{name}",
        "defender": defender.name,
        "attack": attack.label,
        "victims": list(rec.victims),
        "frames": len(frames),
        "team_return": round(rec.team_return, 4),
    }


def render_evaluation(cfg: DictConfig, settings: RenderSettings) -> dict[str, Any]:
    """The videos of the evaluation ``cfg`` describes (defenders and attacks loaded as ``batpal.eval.run`` does),
    into ``<run_dir>/videos``; the list goes into ``summary.json`` under ``render`` and is returned."""
    start = time.perf_counter()
    defenders = load_defenders(parse_defenders(cfg.defenders), int(cfg.severity))
    set_victims(defenders, cfg.get("victims"))
    specs = [cfg.attacks] if isinstance(cfg.attacks, str) else [str(spec) for spec in cfg.attacks or []]
    attacks = unique_labels([make_attack(spec, defenders) for spec in specs])
    videos = render_videos(defenders, attacks, Path(cfg.run_dir) / VIDEOS, settings, int(cfg.seed))
    log.info("%d videos in %s", len(videos), Path(cfg.run_dir) / VIDEOS)
    entry = {"wall_s": round(time.perf_counter() - start, 2), "format": settings.format, "videos": videos}
    Summary(Path(cfg.run_dir) / "summary.json").write_stage("render", entry)
    return entry
