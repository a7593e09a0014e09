"""The graph of steps of one seed: pi0 -> calibrate -> each defender -> its attacks -> KT -> evaluation.

pi0 (``algo=mappo``, the MAPPO defender) and the calibration (Vmax, Vmin) are trained once per seed and shared by
every method of that seed; each method then runs its adversarial stage alone. ACT / DYN-1 / DYN-2 are trained
against each defender (``attacks_against=defender``, the paper's protocol) or once against MAPPO's pi0 and
transferred (``attacks_against=mappo``). KT, the known-type oracle, knows the attack of each row: BATPAL's psi_k and
the baselines' adversaries exported as ``attack.pt``, and the RL attacks trained against pi0. ``reproduce.kt=joint``
(default) trains one KT per seed with every row's attack as a known type (row i's attack is type k = i, which its
evaluation gives the team as the true type), so a seed runs one KT stage instead of one per row (``per_row``).
Every defender is evaluated against the rows it appears in, on every victim.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from batpal.config.schema import ReproduceSettings
from batpal.reproduce.layout import KT, DefenderRun, Row, Table, defender_runs, make_tables
from batpal.reproduce.steps import Step

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SHARED = ("pi0", "calibrate")


def quote(text: str) -> str:
    """A string as one quoted element of a Hydra override (paths may hold ``=``, ``@``, ``,``)."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def algo_overrides(algo: str) -> tuple[str, ...]:
    """``algo=<name>`` and the method file's own values again, so that they win over the command's (a
    ``game.K=4`` for BATPAL must not turn EIR-MAPPO's K = 1 into 4)."""
    values = OmegaConf.to_container(OmegaConf.load(CONFIGS / "algo" / f"{algo}.yaml"))
    flat: list[str] = []

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        elif prefix[:-1] not in ("method", "stages"):
            flat.append(f"{prefix[:-1]}={_literal(node)}")

    walk(values, "")
    return (f"algo={algo}", *flat)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return "[" + ",".join(_literal(v) for v in value) + "]"
    return "null" if value is None else repr(value)


class SeedPlan:
    """The steps of one seed, added once each by name, their run dirs under ``root``."""

    def __init__(self, root: Path, seed: int, tables: list[Table], runs: dict[str, DefenderRun], against: str,
                 fixed_c: list[float], kt_mode: str = "joint") -> None:
        self.root, self.seed, self.runs, self.against, self.fixed_c = root, seed, runs, against, fixed_c
        self.kt_mode = kt_mode
        self.steps: dict[str, Step] = {}
        self.add("pi0", "fit", ("algo=mappo", "stages=[pretrain]"))
        self.add("calibrate", "fit", ("algo=batpal", "stages=[calibrate]"), needs=("pi0",), share=("pi0",))
        for table in tables:
            self.evaluations(table)  # adds every step a cell needs, then the evaluation reading it

    def dir(self, name: str) -> Path:
        return self.root / f"seed{self.seed}" / name

    def add(self, name: str, kind: str, overrides: tuple[str, ...] = (), needs: tuple[str, ...] = (),
            share: tuple[str, ...] = (), rows: tuple[tuple[str, str], ...] = ()) -> str:
        if name not in self.steps:
            self.steps[name] = Step(self.seed, name, kind, overrides, needs, share, rows)
        return name

    def defender(self, name: str) -> str:
        """A defender's training step: pi0 itself for MAPPO, else the adversarial stage on the shared pi0."""
        if name in self.steps:
            return name
        run = self.runs[name]
        extra, needs = list(run.extra), list(SHARED)
        if run.algo == "fixed_types":  # an ensemble of frozen RL attacks of several detectability weights
            names = [self.rl_attack("dyn1", "pi0", c=c, name=f"fixed_attack_{i}") for i, c in enumerate(self.fixed_c)]
            extra.append("game.fixed_adversaries=[" + ",".join(quote(self.dir(n)) for n in names) + "]")
            needs += names
        return self.fit(name, run.algo, tuple(extra), tuple(needs))

    def fit(self, name: str, algo: str, extra: tuple[str, ...], needs: tuple[str, ...]) -> str:
        overrides = (*algo_overrides(algo), "stages=[adversarial]", *extra)
        return self.add(name, "fit", overrides, needs=needs, share=SHARED)

    def rl_attack(self, kind: str, defender: str, c: float | None = None, name: str | None = None) -> str:
        """``attack=<kind>`` trained against the frozen ``defender`` step."""
        self.defender(defender)
        overrides = (f"attack={kind}", f"defender={quote(self.dir(defender))}")
        if c is not None:
            overrides += (f"attack.c={float(c)}",)
        return self.add(name or f"attack_{kind}_vs_{defender}", "attack", overrides, needs=(defender,))

    def row_source(self, row: Row, defender: str) -> str | None:
        """The step whose output is the row's attack against ``defender`` (None: no attack)."""
        if row.source == "severity":
            return self.defender("batpal")
        if row.source == "baseline":
            return self.defender(row.arg)
        if row.source == "rl":
            return self.rl_attack(row.arg, defender if self.against == "defender" else "pi0")
        return None

    def spec(self, row: Row, defender: str) -> tuple[str, str | None]:
        """The row's attack against ``defender`` as ``batpal.evaluate`` names it, and the step it comes from."""
        source = self.row_source(row, defender)
        if source is None:
            return "none", None
        if row.source == "severity":
            return f"severity_{row.arg}@{self.dir(source)}", source
        if row.source == "baseline":
            return f"a_{self.dir(source)}", source
        return str(self.dir(source)), source

    def known_attack(self, row: Row) -> str:
        """The step whose ``attack.pt`` is the row's attack for KT: RL attacks trained against pi0, else an export
        of BATPAL's psi_k or the baseline's adversary."""
        if row.source == "rl":
            return self.rl_attack(row.arg, "pi0")
        net = int(row.arg) if row.source == "severity" else 1
        source = self.row_source(row, "pi0")
        return self.add(f"export_{kt_step(row)[3:]}", "export", (f"source={self.dir(source)}", f"net={net}"),
                        needs=(source,))

    def kt(self, rows: list[Row]) -> str:
        """KT trained against ``rows``' attacks, each a frozen known type (type k = its place in ``rows``)."""
        name = KT if len(rows) > 1 or self.kt_mode == "joint" else kt_step(rows[0])
        if name in self.steps:
            return name
        known = [self.known_attack(row) for row in rows]
        fixed = "game.fixed_adversaries=[" + ",".join(quote(self.dir(k)) for k in known) + "]"
        return self.fit(name, "kt", (fixed, f"game.K={len(known)}"), (*SHARED, *known))

    def evaluations(self, table: Table) -> None:
        """One evaluation per defender: the rows of this table added to those of earlier tables."""
        for column in table.columns:
            if column.step != KT:
                self.defender(column.step)
                self.evaluation(column.step, [(row.label, *self.spec(row, column.step)) for row in table.rows])
                continue
            attacked = [row for row in table.rows if row.source != "none"]
            for k, row in enumerate(attacked, start=1):
                kt = self.kt(attacked) if self.kt_mode == "joint" else self.kt([row])
                severity = k if self.kt_mode == "joint" else 1  # the true type KT is told
                self.evaluation(kt, [("No attack", "none", None), (row.label, *self.spec(row, "pi0"))],
                                name=f"eval_{kt_step(row)}", severity=severity)

    def evaluation(self, defender: str, rows: list[tuple[str, str, str | None]], name: str | None = None,
                   severity: int = 1) -> None:
        """``eval_<defender>``: the defender against every row's attack (rows merged over tables); ``severity``
        is the type k its attacked episodes carry (KT: the row's known type)."""
        name = name or f"eval_{defender}"
        old = self.steps.pop(name, None)
        merged = dict(old.rows) if old else {}
        merged.update((label, spec) for label, spec, _ in rows)
        needs = dict.fromkeys([*(old.needs if old else (defender,)), *(s for _, _, s in rows if s is not None)])
        overrides = (
            f"defenders=[{quote(f'{defender}={self.dir(defender)}')}]",
            "attacks=[" + ",".join(quote(spec) for spec in merged.values()) + "]",
            *((f"severity={severity}",) if severity != 1 else ()),
        )
        self.add(name, "evaluate", overrides, needs=tuple(needs), rows=tuple(merged.items()))


def kt_step(row: Row) -> str:
    """``kt_severity_2``, ``kt_a_eir_mappo``, ``kt_act``: the row's KT run (``per_row``) and evaluation name."""
    if row.source == "severity":
        return f"kt_severity_{row.arg}"
    return f"kt_a_{row.arg}" if row.source == "baseline" else f"kt_{row.arg}"


def make_plan(root: Path, seeds: list[int], settings: ReproduceSettings, K: int) -> tuple[list[Table], list[Step]]:
    """The tables asked for and every step of every seed (seed by seed, each seed's in dependency order)."""
    tables = make_tables(settings, K)
    runs = defender_runs(settings, K)
    steps: list[Step] = []
    for seed in seeds:
        plan = SeedPlan(root, int(seed), tables, runs, str(settings.attacks_against),
                        [float(c) for c in settings.fixed_types_c], str(settings.kt))
        steps += plan.steps.values()
    return tables, steps
