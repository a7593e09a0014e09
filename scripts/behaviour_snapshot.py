"""Fixed-seed tiny runs of every stage and every algo config: their summary.json figures and weight digests.

Used to check that a refactor leaves behaviour unchanged, bit for bit: run it on the commit before the change and
on the change, then compare the two JSON files (``--compare A B``). ``--dialect old`` writes the overrides with the
config keys of commits before issue 10 (``algo.*`` PPO keys, ``game.ppo_epochs``); ``--repo`` names the checkout
whose configs are composed (its package must come first on PYTHONPATH).

    git worktree add /tmp/base 4db6799
    PYTHONPATH=/tmp/base python scripts/behaviour_snapshot.py --repo /tmp/base --dialect old --out /tmp/old.json
    python scripts/behaviour_snapshot.py --dialect new --out /tmp/new.json
    python scripts/behaviour_snapshot.py --compare /tmp/old.json /tmp/new.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
TIMING = {"wall_s"}

COMMON = {
    "old": [
        "experiment=mpe_spread",
        "env.num_envs=16",
        "algo.rollout_steps=25",
        "algo.ppo_epochs=2",
        "pretrain.frames=1600",
        "pretrain.iters_per_epoch=2",
        "pretrain.eval_episodes=8",
        "model.hidden=[32,32]",
        "trainer.enable_progress_bar=false",
    ],
    "new": [
        "experiment=mpe_spread",
        "env.num_envs=16",
        "ppo.rollout_steps=25",
        "ppo.ppo_epochs=2",
        "pretrain.frames=1600",
        "pretrain.iters_per_epoch=2",
        "pretrain.eval_episodes=8",
        "model.hidden=[32,32]",
        "trainer.enable_progress_bar=false",
    ],
}
GAME = [
    "stages=[pretrain,calibrate,adversarial]",
    "calibrate.frames=800",
    "calibrate.iters_per_epoch=1",
    "calibrate.eval_episodes=6",
    "adversarial.frames=1600",
    "adversarial.iters_per_epoch=2",
    "adversarial.eval_episodes=4",
]
GAME_EPOCHS = {"old": ["game.ppo_epochs=2"], "new": ["calibrate.ppo.ppo_epochs=2", "adversarial.ppo.ppo_epochs=2"]}
ATTACK = {
    "old": ["algo.rollout_steps=25", "algo.ppo_epochs=2"],
    "new": ["ppo.rollout_steps=25", "ppo.ppo_epochs=2"],
}


def _digest(path: Path) -> str:
    """A digest of a weights file's tensors (names, shapes, values), independent of pickling details."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    h = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        if isinstance(value, torch.Tensor):
            h.update(key.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in TIMING}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _fit(overrides: list[str], run_dir: Path) -> dict:
    from hydra import compose, initialize_config_dir

    from batpal.fit import fit

    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
        cfg = compose("fit", overrides=[*overrides, f"run_dir={run_dir}"])
    summary = _strip(fit(cfg))
    digests = {p.name: _digest(p) for p in sorted(run_dir.glob("*.pt"))}
    return {"summary": summary, "weights": digests}


def _attack(dialect: str, defender: Path, run_dir: Path) -> dict:
    from hydra import compose, initialize_config_dir

    from batpal.attack import train_attack

    overrides = [
        "experiment=mpe_spread",
        "env.num_envs=16",
        *ATTACK[dialect],
        "model.hidden=[32,32]",
        "trainer.enable_progress_bar=false",
        "attack.frames=1600",
        "attack.iters_per_epoch=2",
        "attack.eval_episodes=8",
        "attack=dyn1",
        f"defender={defender}",
        f"run_dir={run_dir}",
    ]
    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
        cfg = compose("attack", overrides=overrides)
    figures = train_attack(cfg)
    summary = _strip(json.loads(json.dumps(figures, default=float)))
    return {"summary": summary, "weights": {"attack.pt": _digest(run_dir / "attack.pt")}}


def snapshot(dialect: str) -> dict:
    torch.set_num_threads(1)
    common, game = COMMON[dialect], [*GAME, *GAME_EPOCHS[dialect]]
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out["pretrain"] = _fit([*common, "stages=[pretrain]"], root / "pretrain")
        # calibrate's own Vmin path (its tiny bands are narrower than 2 zeta: the adversarial stage is refused now)
        out["calibrated"] = _fit([*common, *game, "stages=[pretrain,calibrate]"], root / "calibrated")
        out["batpal"] = _fit([*common, *game, "game.vmin=-400"], root / "batpal")
        for method in ("eir_mappo", "gen_maxmin", "rap"):
            out[method] = _fit([*common, *game, "game.vmin=-400", f"algo={method}"], root / method)
        out["attack_dyn1"] = _attack(dialect, root / "batpal", root / "attack")
        fixed = f"game.fixed_adversaries=[{root / 'attack'}]"
        out["kt"] = _fit([*common, *game, "game.vmin=-400", "algo=kt", "game.K=1", fixed], root / "kt")
        out["fixed_types"] = _fit(
            [*common, *game, "game.vmin=-400", "algo=fixed_types", "game.K=1", fixed], root / "fixed_types"
        )
        out["victims2"] = _fit([*common, *game, "game.vmin=-400", "game.victims=2", "game.K=2"], root / "victims2")
    return out


def compare(a: dict, b: dict, path: str = "") -> list[str]:
    """Every leaf that differs between two snapshots (exact equality)."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                diffs.append(f"{path}/{key}: only in {'second' if key not in a else 'first'}")
            else:
                diffs += compare(a[key], b[key], f"{path}/{key}")
        return diffs
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main() -> None:
    global REPO
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialect", choices=("old", "new"), default="new")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path)
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose configs/ are composed")
    args = parser.parse_args()
    REPO = args.repo.resolve()
    if args.compare:
        diffs = compare(*(json.loads(p.read_text()) for p in args.compare))
        print("\n".join(diffs) or "identical")
        print(f"differing figures: {len(diffs)}")
        sys.exit(1 if diffs else 0)
    result = snapshot(args.dialect)
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
