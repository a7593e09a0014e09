"""Wall time of ``batpal.evaluate`` at the paper's size: 6 defenders x 11 attacks x 3 victims x 50 episodes (MPE).

No six trained defenders and no trained ACT / DYN attacks exist yet, so stand-ins of the same cost are used:
one finished MPE run (default ``runs/mpe_pipeline``) serves under five BATPAL-family labels (BATPAL, EIR-MAPPO,
Gen-Maxmin, RAP, KT) and, as pi0 alone, under MAPPO (a temporary copy without ``defender.pt``); the attacks are
none, severity_1..4, a_EIR-MAPPO, a_Gen-Maxmin, a_RAP (psi_1 of the same run) and ACT / DYN-1 / DYN-2, written
as ``attack.pt`` files holding psi_2, psi_3, psi_4's weights (the trained-attack loader is timed too).
The figure is the whole ``evaluate(cfg)`` call: loading, checks, 66 batched cells, CSV and both figures.

    OMP_NUM_THREADS=1 python benchmarks/evaluate_speed.py [--run runs/mpe_pipeline] [--episodes 50]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from batpal.atomic import save_weights
from batpal.eval.defenders import load_defender
from batpal.eval.run import evaluate

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ("BATPAL", "EIR-MAPPO", "Gen-Maxmin", "RAP", "KT")
TRAINED = {"act": 2, "dyn1": 3, "dyn2": 4}  # stand-in kind -> the psi_k whose weights it carries


def mappo_copy(run: Path, into: Path) -> Path:
    """The run's pretrain stage alone (config saying method mappo, stages [pretrain]; pi0, metrics): a MAPPO
    defender (``batpal.evaluate`` refuses a run whose stages include adversarial without its defender.pt)."""
    into.mkdir()
    shutil.copy(run / "pi0.pt", into / "pi0.pt")
    cfg = OmegaConf.load(run / "config.yaml")
    cfg.method, cfg.stages = "mappo", ["pretrain"]
    OmegaConf.save(cfg, into / "config.yaml")
    summary = json.loads((run / "summary.json").read_text())
    (into / "summary.json").write_text(json.dumps({"pretrain": summary["pretrain"]}))
    if (run / "metrics" / "pretrain").is_dir():
        shutil.copytree(run / "metrics" / "pretrain", into / "metrics" / "pretrain")
    return into


def trained_stand_in(run: Path, kind: str, k: int, into: Path) -> Path:
    """An ``attack.pt`` of kind ``kind`` holding psi_k of ``run`` (same MLP as a trained attack)."""
    defender = load_defender(run)
    into.mkdir()
    payload = {
        "kind": kind,
        "env": defender.env_name,
        "dims": defender.dims,
        "hidden": list(defender.module.hparams.hidden),
        "activation": defender.module.hparams.activation,
        "c": 0.0,
        "defender": str(run),
        "state_dict": defender.module.adversaries.nets[k - 1].state_dict(),
    }
    save_weights(payload, into / "attack.pt", "attack")  # plain data: loads with weights_only
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "mpe_pipeline")
    parser.add_argument("--episodes", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mappo = mappo_copy(args.run, tmp / "mappo")
        trained = [str(trained_stand_in(args.run, kind, k, tmp / kind)) for kind, k in TRAINED.items()]
        defenders = [f"'{label}={args.run}'" for label in BASELINES] + [f"'MAPPO={mappo}'"]
        attacks = ["none", *(f"severity_{k}" for k in range(1, 5)), "a_EIR-MAPPO", "a_Gen-Maxmin", "a_RAP", *trained]
        with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
            cfg = compose(
                "evaluate",
                overrides=[
                    "experiment=mpe_spread",
                    f"defenders=[{','.join(defenders)}]",
                    f"attacks=[{','.join(attacks)}]",
                    f"episodes={args.episodes}",
                    f"run_dir={tmp / 'eval'}",
                ],
            )
        start = time.perf_counter()
        figures = evaluate(cfg)
        seconds = time.perf_counter() - start
        cells = figures["table"]
        print(f"{len(figures['defenders'])} defenders x {len(cells)} attacks x 3 victims x {args.episodes} episodes")
        print(_table(cells))
    print(f"evaluate_seconds: {seconds:.1f}")


def _table(table: dict[str, dict[str, float]]) -> str:
    cols = list(next(iter(table.values())))
    width = max(len(r) for r in table)
    lines = [" | ".join([f"{'attack':<{width}}", *(f"{c:>10}" for c in cols)])]
    lines += [" | ".join([f"{r:<{width}}", *(f"{v:>10.2f}" for v in row.values())]) for r, row in table.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
