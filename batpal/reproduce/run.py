"""``reproduce(cfg, command, hydra_overrides)``: plan every step, check the cache, run what is left wave by wave
through Hydra's launcher, then build the tables from the evaluations.

Before any compute: the reproduction's settings are checked, every step's config is composed (a misspelt key fails
here) and validated, and every cached step is compared with the command (another config, or inputs recomputed
since: ``StaleStepError``). A wave runs the steps whose inputs are done, one kind at a time; a step that fails
stops the reproduction with its name and log (``WaveFailed``), and no table is built from a partial set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from batpal.config import validate
from batpal.envs.registry import check_env_name
from batpal.reproduce.attack_curves import write_attack_curves
from batpal.reproduce.cache import DONE_FILE, StaleStepError, check, done_id, mark_done, read, write_step
from batpal.reproduce.configs import budgets, compose_step, forwarded, identity, step_overrides
from batpal.reproduce.estimate import Cost, estimate
from batpal.reproduce.export import export_adversary
from batpal.reproduce.launch import HydraWaves
from batpal.reproduce.layout import Table
from batpal.reproduce.marl_eval_export import export_table
from batpal.reproduce.paper import paper_values
from batpal.reproduce.plan import make_plan
from batpal.reproduce.provenance import publish, stamp, step_group, write_readme
from batpal.reproduce.results import read_evaluation, seed_cells
from batpal.reproduce.share import share
from batpal.reproduce.stats import aggregate, write_stats
from batpal.reproduce.steps import CONFIG_NAMES, Step
from batpal.reproduce.stopwatch import StepClock
from batpal.reproduce.tables import summarise, write_table
from batpal.reproduce.validate import validate_reproduce
from batpal.summary import Summary

log = logging.getLogger(__name__)
KIND_ORDER = ("export", "fit", "attack", "evaluate")


def reproduce(cfg: DictConfig, command: Sequence[str], hydra_overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Run (or resume) the reproduction of ``cfg`` into ``cfg.run_dir``; returns its ``summary.json`` entry."""
    start = time.perf_counter()
    validate_reproduce(cfg, command)
    root = Path(cfg.run_dir).resolve()
    tables, steps = make_plan(root, [int(s) for s in cfg.seeds], cfg.reproduce, int(cfg.game.K))
    planned = plan_configs(cfg, steps, root, command)
    todo = uncached(steps, root, planned)
    log.info("%d steps, %d cached, %d to run under %s", len(steps), len(steps) - len(todo), len(todo), root)
    if cfg.reproduce.dry_run:
        print(describe(steps, todo, root))
        progress(root, [*command, *hydra_overrides], steps, todo, planned)
        return {"steps": len(steps), "to_run": [s.key for s in todo]}
    waves = HydraWaves(root, hydra_overrides)
    for kind, group in schedule(steps, todo):
        run_group(kind, group, root, planned, waves)
    outputs = build_tables(cfg, tables, steps, root)
    wall_s = round(time.perf_counter() - start, 2)
    metric = "normalised return" if check_env_name(str(cfg.env.name)).return_bounds is not None else "win rate"
    readme = write_readme(root, [*command, *hydra_overrides], step_rows(steps, root), outputs, wall_s,
                          caption(cfg, metric, len(cfg.seeds)))
    entry = {"seeds": list(cfg.seeds), "tables": outputs, "attacks_against": str(cfg.reproduce.attacks_against),
             "kt": str(cfg.reproduce.kt), "scale": float(cfg.reproduce.scale), "steps": len(steps),
             "steps_run": len(todo), "wall_s": wall_s, "readme": str(readme)}
    if cfg.reproduce.publish:
        files = [Path(p) for paths in outputs.values() for p in paths] + [readme]
        entry["published"] = [str(p) for p in publish(root, Path(cfg.reproduce.publish), files)]
    Summary(root / "summary.json").write_stage("reproduce", entry)
    return entry


def progress(root: Path, command: Sequence[str], steps: Sequence[Step], todo: Sequence[Step],
             planned: dict[str, tuple[list[str], dict[str, Any]]]) -> None:
    """A dry run of an unfinished reproduction with steps done refreshes ``README.md`` with them (their wall-clock,
    commit and machine), the steps left and an estimate of their time, so a partial run dir, committed to resume in
    a later session, says where it stands. A finished reproduction's README (with its tables) is left as it is."""
    waiting = {s.key for s in todo}
    done = [s for s in steps if s.key not in waiting]
    if todo and done:
        resume = [c for c in command if c.split("=", 1)[0].lstrip("+") != "reproduce.dry_run"]  # the command to run
        rows = step_rows(done, root)
        costs = [Cost(step_group(r), r["kind"], budget_frames(planned[r["step"]][1]), r.get("wall_s")) for r in rows]
        left = [Cost(step_group({"step": s.key, "kind": s.kind}), s.kind, budget_frames(planned[s.key][1]))
                for s in todo]
        notes = estimate(costs, left).lines(parallel_jobs(command))
        write_readme(root, resume, rows, {}, 0.0, "", pending=[s.key for s in todo], notes=notes)


def parallel_jobs(command: Sequence[str]) -> int:
    """The jobs the command runs at once (``hydra.launcher.n_jobs``; 1 when not given or not a count)."""
    for item in command:
        key, _, value = item.partition("=")
        if key.lstrip("+") == "hydra.launcher.n_jobs" and value.strip().isdigit():
            return max(1, int(value))
    return 1


def step_rows(steps: Sequence[Step], root: Path) -> list[dict[str, Any]]:
    """Per step, what its ``done.json`` says of where and how long it ran (steps done before stamps: n/a).

    A step finished before ``done.json`` counted every invocation (``StepClock``) recorded only its last one; when
    its own stages' training time (summed over resumes by the module, in its ``summary.json``) is longer, the row
    reports that instead and says so (``partial``: the earlier invocations' start-up and evaluation are missing)."""
    rows = []
    for step in steps:
        done = read(step.run_dir(root) / DONE_FILE) or {}
        row = {"step": step.key, "kind": step.kind, "finished": done.get("finished", 0.0),
               **{k: done[k] for k in ("wall_s", "commit", "machine") if k in done}}
        trained = training_s(step, root)
        if "wall_s" in row and "invocations" not in done and trained is not None and trained > row["wall_s"]:
            row.update(wall_s=round(trained, 2), partial=True)
        rows.append(row)
    return rows


def training_s(step: Step, root: Path) -> float | None:
    """Seconds the step's own stages trained (``summary.json``), without those of the steps it shares (pi0's
    pretrain inside a method's summary); None without a summary."""
    summary = read(step.run_dir(root) / "summary.json")
    if summary is None:
        return None
    shared = set()
    for name in step.share:
        shared |= set(read(root / f"seed{step.seed}" / name / "summary.json") or {})
    own = [float(v["wall_s"]) for k, v in summary.items()
           if k not in shared and isinstance(v, dict) and isinstance(v.get("wall_s"), int | float)]
    return sum(own) if own else None


def plan_configs(cfg: DictConfig, steps: Sequence[Step], root: Path,
                 command: Sequence[str]) -> dict[str, tuple[list[str], dict[str, Any]]]:
    """Per step: the overrides its job composes from and its identity (the resolved config that the cache keeps)."""
    base = {kind: compose_step(kind, []) for kind in CONFIG_NAMES}
    passed = {kind: forwarded(command, kind, base[kind]) for kind in CONFIG_NAMES}
    scale, episodes = float(cfg.reproduce.scale), int(cfg.reproduce.episodes)
    out = {}
    for step in steps:
        if step.kind == "export":
            out[step.key] = ([], dict(o.split("=", 1) for o in step.overrides))
            continue
        overrides = step_overrides(step, step.run_dir(root), passed)
        job_cfg = compose_step(step.kind, overrides)
        scaled = budgets(job_cfg, step.kind, scale, episodes)
        if scaled:  # composed again: the scaled budgets replace the step's own
            overrides = [*overrides, *scaled]
            job_cfg = compose_step(step.kind, overrides)
        if step.kind == "fit":
            validate(job_cfg)
        out[step.key] = (overrides, identity(job_cfg, step.kind))
    return out


def uncached(steps: Sequence[Step], root: Path, planned: dict[str, tuple[list[str], dict[str, Any]]]) -> list[Step]:
    """The steps to run; raises ``StaleStepError`` naming every cached step that does not fit this command."""
    todo, stale = [], []
    for step in steps:
        inputs = {key: done_id(root / key) for key in step.need_keys()}
        try:
            if not check(step.key, step.run_dir(root), planned[step.key][1], inputs):
                todo.append(step)
        except StaleStepError as err:
            stale.append(str(err))
    if stale:
        raise StaleStepError(f"{len(stale)} cached step(s) do not fit this command (nothing was run):\n- "
                             + "\n- ".join(stale))
    return todo


def schedule(steps: Sequence[Step], todo: Sequence[Step]) -> list[tuple[str, list[Step]]]:
    """Waves of ``todo``: by depth among the steps still to run (a cached input delays nothing), then by kind (a wave
    runs one entry point). A resumed reproduction so runs an attack on pi0 beside the attacks on the methods."""
    by_key = {step.key: step for step in steps}
    pending = {step.key for step in todo}
    depth: dict[str, int] = {}

    def level(step: Step) -> int:
        if step.key not in depth:
            depth[step.key] = 1 + max((level(by_key[k]) for k in step.need_keys() if k in pending), default=-1)
        return depth[step.key]

    groups: dict[tuple[int, int], list[Step]] = {}
    for step in todo:
        groups.setdefault((level(step), KIND_ORDER.index(step.kind)), []).append(step)
    return [(KIND_ORDER[kind], groups[lv, kind]) for lv, kind in sorted(groups)]


def run_group(kind: str, group: list[Step], root: Path, planned: dict, waves: HydraWaves) -> None:
    """Write each step's ``step.json``, share pi0 / calibration into it, then run the group (exports here)."""
    jobs = []
    for step in group:
        run_dir, (overrides, config) = step.run_dir(root), planned[step.key]
        write_step(step.key, kind, run_dir, config, {key: done_id(root / key) for key in step.need_keys()})
        if kind == "export":
            with StepClock(run_dir) as clock:
                export_adversary(Path(config["source"]), int(config["net"]), run_dir)
            mark_done(run_dir, config, {**clock.stamp(), **stamp()})
            continue
        if step.share:
            share(run_dir, {name: root / f"seed{step.seed}" / name for name in step.share})
        jobs.append((step, [*overrides, *resume_keys(kind, run_dir)]))
    if jobs:  # longest first: the wave's last job to start is a short one, so no core waits long for it
        jobs.sort(key=lambda job: -budget_frames(planned[job[0].key][1]))
        waves.run(kind, jobs)


def budget_frames(config: dict[str, Any]) -> int:
    """A step's training frames (every ``<stage>.frames`` and ``attack.frames`` its config holds): its cost."""
    return sum(int(v) for k, v in config.items() if k.endswith(".frames") and isinstance(v, int | float))


def resume_keys(kind: str, run_dir: Path) -> list[str]:
    """A step killed before: training resumes from its checkpoint, an evaluation starts over its partial table."""
    if kind in ("fit", "attack") and (run_dir / "checkpoints" / "last.ckpt").is_file():
        return ["ckpt_path=last"]
    if kind == "evaluate" and any((run_dir / name).exists() for name in ("cross_table.csv", "summary.json")):
        return ["overwrite=true"]
    return []


def build_tables(cfg: DictConfig, tables: Sequence[Table], steps: Sequence[Step], root: Path) -> dict[str, list[str]]:
    """Every table of ``reproduce.tables`` with its statistics, from every seed's evaluations."""
    evaluations = {s.key: read_evaluation(s, root) for s in steps if s.kind == "evaluate"}
    env = str(cfg.env.name)
    metric = "normalised return" if check_env_name(env).return_bounds is not None else "win rate"
    seeds = [int(s) for s in cfg.seeds]
    outputs = {}
    for table in tables:
        per_seed = [seed_cells(table, seed, evaluations) for seed in seeds]
        lines = summarise(table, per_seed, paper_values(table.name, env))
        title = f"{table.name}: {cfg.experiment_name}, {metric}"
        paths = write_table(lines, root, table.name, title, metric, caption(cfg, metric, len(seeds)))
        stats = aggregate(table, per_seed, int(cfg.reproduce.bootstrap_reps))
        paths.append(write_stats(stats, root / f"{table.name}_stats.csv"))
        key = "return_normalized" if metric == "normalised return" else "win_rate"  # the table's figure
        paths.append(export_table(table, seeds, per_seed, root, env, key))
        outputs[table.name] = [str(p) for p in paths]
        log.info("%s: %s", table.name, ", ".join(str(p) for p in paths))
    curves = write_attack_curves(steps, root, env)  # did each attack's budget suffice (issue 13)
    if curves:
        outputs["attack_curves"] = [str(p) for p in curves]
    return outputs


def caption(cfg: DictConfig, metric: str, n_seeds: int) -> str:
    """What the numbers are: seeds, interval, episodes, the attacks' protocol, KT, the paper's values."""
    against = (
        "ACT / DYN-1 / DYN-2 trained against each defender (its non-victim policy frozen, the victim drawn per "
        "episode), the paper's protocol"
        if cfg.reproduce.attacks_against == "defender"
        else "ACT / DYN-1 / DYN-2 trained once against MAPPO's pi0 and transferred to every defender (not the "
        "paper's protocol: those rows carry no paper value)"
    )
    kt = (
        "one known-type oracle per seed, trained against every row's attack at once (each a known type)"
        if cfg.reproduce.kt == "joint"
        else "one known-type oracle per attack row, trained against that attack"
    )
    return (
        f"Mean over {n_seeds} seed(s) of the {metric}; 95% interval: Student's t over seeds (one seed: over its "
        f"episodes). Each cell plays every victim; budgets x{cfg.reproduce.scale}. Attacks: {against}. A-X: the "
        f"adversary trained inside baseline X; Severity k: BATPAL's psi_k. KT: {kt} (the true type as its "
        "belief); its No attack cell pools its evaluations. In parentheses: the paper's value."
    )


def describe(steps: Sequence[Step], todo: Sequence[Step], root: Path) -> str:
    """The plan as text: every step, its kind and whether it is cached."""
    waiting = {s.key for s in todo}
    lines = [f"reproduction under {root}: {len(steps)} steps, {len(todo)} to run"]
    lines += [f"  {'run ' if s.key in waiting else 'done'}  {s.kind:<8} {s.key}" for s in steps]
    return "\n".join(lines)
