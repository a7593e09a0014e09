"""The paper's tables as rows (attacks) and columns (defenders), each cell named by the runs it needs.

Figure 2: every method against No attack, BATPAL's psi_k (Severity k), the adversaries trained inside the baselines
(A-X) and the RL attacks ACT / DYN-1 / DYN-2. Table 1: BATPAL's ablations against No attack, ACT, DYN-1 and
A-Gen-Maxmin. Table 3: BATPAL with K = 3, 4, 5 against No attack, A-EIR-MAPPO and the RL attacks. A defender
column names the step that trains it (``pi0`` is MAPPO's); ``kt`` is the known-type oracle (``reproduce.kt``).
"""

from __future__ import annotations

from dataclasses import dataclass

from batpal.attacks.checkpoint import KIND_LABELS
from batpal.config.schema import ReproduceSettings
from batpal.eval.defenders import METHOD_LABELS

TABLES = ("figure2", "table1", "table3")
FIGURE2_METHODS = ("batpal", "eir_mappo", "gen_maxmin", "rap", "mappo", "kt")
ADVERSARY_BASELINES = ("eir_mappo", "gen_maxmin", "rap")  # their trained adversary is the row A-X
ATTACKS_AGAINST = ("defender", "mappo")
KT = "kt"
KT_MODES = ("joint", "per_row")


@dataclass(frozen=True)
class Row:
    """An attack row: ``source`` none | severity (``arg`` = k) | baseline (``arg`` = its step) | rl (``arg`` = kind)."""

    label: str
    source: str
    arg: str = ""


@dataclass(frozen=True)
class Column:
    """A defender column: its label and the step that trains it (``kt``: the known-type oracle, see plan.py)."""

    label: str
    step: str


@dataclass(frozen=True)
class Table:
    name: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class DefenderRun:
    """How a defender step trains: the method (``configs/algo/``) and the overrides that make the variant."""

    algo: str
    extra: tuple[str, ...] = ()


def rl_row(kind: str, against: str) -> Row:
    """ACT / DYN-1 / DYN-2; in transfer mode labelled "(vs MAPPO)": not the paper's protocol, so no paper value."""
    label = KIND_LABELS[kind] + ("" if against == "defender" else " (vs MAPPO)")
    return Row(label, "rl", kind)


def method_step(method: str) -> str:
    """MAPPO's defender is the seed's pi0 run; every other method has a step of its own name."""
    return "pi0" if method == "mappo" else method


def batpal_step(K: int, base_K: int) -> str:
    """BATPAL at ``K`` severities: the main ``batpal`` run at the experiment's K, else ``batpal_K<K>``."""
    return "batpal" if K == base_K else f"batpal_K{K}"


def figure2(settings: ReproduceSettings, K: int) -> Table:
    """Rows from the methods trained (Severity k needs BATPAL, A-X needs X) and the RL attacks asked for."""
    methods = list(settings.methods)
    rows = [Row("No attack", "none")]
    if "batpal" in methods:
        rows += [Row(f"Severity {k}", "severity", str(k)) for k in range(1, K + 1)]
    rows += [Row(f"A-{METHOD_LABELS[x]}", "baseline", x) for x in ADVERSARY_BASELINES if x in methods]
    rows += [rl_row(kind, settings.attacks_against) for kind in settings.attacks]
    columns = [Column(METHOD_LABELS[m], KT if m == KT else method_step(m)) for m in methods]
    return Table("figure2", tuple(rows), tuple(columns))


def table1(settings: ReproduceSettings) -> Table:
    """The ablations of section 5.2 against the paper's three attacks (those of ``reproduce.attacks``)."""
    rows = [Row("No attack", "none")]
    rows += [rl_row(kind, settings.attacks_against) for kind in ("act", "dyn1") if kind in settings.attacks]
    rows.append(Row("A-Gen-Maxmin", "baseline", "gen_maxmin"))
    columns = [
        Column("BATPAL", "batpal"),
        Column("No Belief", "no_belief"),
        Column("Perfect Belief", "perfect_belief"),
        Column("EC PG", "ec_pg"),
        Column("Fixed Types", "fixed_types"),
    ]
    return Table("table1", tuple(rows), tuple(columns))


def table3(settings: ReproduceSettings, K: int) -> Table:
    """BATPAL for each K of ``reproduce.table3_K`` (the experiment's own K is the main BATPAL run)."""
    rows = [Row("No attack", "none"), Row("A-EIR-MAPPO", "baseline", "eir_mappo")]
    rows += [rl_row(kind, settings.attacks_against) for kind in settings.attacks]
    columns = [Column(f"K={k}", batpal_step(int(k), K)) for k in settings.table3_K]
    return Table("table3", tuple(rows), tuple(columns))


def make_tables(settings: ReproduceSettings, K: int) -> list[Table]:
    """The tables of ``reproduce.tables``, in that order."""
    build = {"figure2": lambda: figure2(settings, K), "table1": lambda: table1(settings),
             "table3": lambda: table3(settings, K)}
    return [build[name]() for name in settings.tables]


def defender_runs(settings: ReproduceSettings, K: int) -> dict[str, DefenderRun]:
    """Every trainable defender step by name (not pi0, calibrate or KT)."""
    runs = {m: DefenderRun(m) for m in ("batpal", *ADVERSARY_BASELINES)}
    runs["no_belief"] = DefenderRun("batpal", ("game.belief_source=none",))
    runs["perfect_belief"] = DefenderRun("batpal", ("game.belief_source='true'",))
    runs["ec_pg"] = DefenderRun("batpal", ("game.ec_clip=false",))
    runs["fixed_types"] = DefenderRun("fixed_types", (f"game.K={len(settings.fixed_types_c)}",))
    for k in settings.table3_K:
        if int(k) != K:
            runs[batpal_step(int(k), K)] = DefenderRun("batpal", (f"game.K={int(k)}",))
    return runs
