"""``python -m batpal.attack`` (``batpal.stages.attack``) on tiny MPE defenders: artefacts in the evaluator's format,
the reward the adversary trains on, each attack's c, exact resume, and clear errors before any compute."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.errors import MissingConfigException
from torch import nn
from torchrl.envs.utils import ExplorationType, set_exploration_type
from torchrl.modules import MLP

from batpal.attacks.checkpoint import load_trained_attack
from batpal.config.settings import eval_envs
from batpal.envs import make
from batpal.eval.attacked import evaluate_under_attack
from batpal.eval.defenders import load_defender
from batpal.nn.actor import actor_net
from batpal.nn.adversary import adversary_input
from batpal.stages.attack import build_attack_module, train_attack
from tests.stages.conftest import TINY_ATTACK, attack_config

pytestmark = pytest.mark.slow  # end-to-end runs (pipelines, CLI processes)

AGENTS, ADVERSARY = "agents", "adversary"
ATTACK_KEYS = {"kind", "env", "dims", "hidden", "activation", "c", "defender", "state_dict"}


class Interrupt(RuntimeError):
    """Raised by ``InterruptAtEpoch``: a crash after the previous epoch's checkpoint was written."""


class InterruptAtEpoch(L.Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            raise Interrupt(f"stopped at the start of epoch {self.epoch}")


@pytest.mark.parametrize(("kind", "defender"), [("act", "game"), ("dyn2", "mappo")])
def test_an_attack_trains_and_writes_attack_pt_summary_and_metrics(defender_runs, tmp_path, kind, defender):
    run_dir = tmp_path / kind
    cfg = attack_config(kind, defender_runs[defender], run_dir)
    L.seed_everything(cfg.seed)
    initial = build_attack_module(cfg).net.state_dict()  # train_attack seeds and builds the same way
    figures = train_attack(cfg)

    payload = torch.load(run_dir / "attack.pt", weights_only=True)
    assert set(payload) == ATTACK_KEYS
    pi0 = torch.load(defender_runs[defender] / "pi0.pt", weights_only=True)
    assert payload["kind"] == kind and payload["env"] == "mpe_spread" and payload["dims"] == pi0["dims"]
    assert payload["hidden"] == [32, 32] and payload["activation"] == "relu"
    assert payload["c"] == cfg.attack.c and payload["defender"] == str(defender_runs[defender].resolve())
    dims = payload["dims"]
    net = MLP(
        in_features=dims["obs_dim"] + dims["n_agents"],
        out_features=dims["n_actions"],
        num_cells=[32, 32],
        activation_class=nn.ReLU,
    )
    net.load_state_dict(payload["state_dict"])  # strict: exactly the MLP's keys and shapes
    assert any(not torch.equal(initial[k], payload["state_dict"][k]) for k in initial)  # PPO moved the weights
    attack = load_trained_attack(run_dir)  # the evaluator's loader takes it
    assert attack.meta["kind"] == kind
    defender_team = load_defender(defender_runs[defender])
    again = evaluate_under_attack(defender_team, attack, 8, seed=cfg.seed + 30_000, num_envs=eval_envs(cfg))
    assert again.summary("mpe_spread") == {k: v for k, v in figures.items() if k in again.summary("mpe_spread")}

    assert json.loads((run_dir / "summary.json").read_text())["attack"] == figures
    assert figures["frames"] == 1600 and figures["wall_s"] > 0 and figures["episodes"] == 8
    assert figures["return_normalized"] == pytest.approx((figures["return_mean"] + 189) / 142)
    assert figures["detectability_mean"] > 0 and figures["no_attack"]["detectability_mean"] > 0
    assert set(figures["no_attack"]) == {
        "episodes",
        "return_mean",
        "return_se",
        "return_normalized",
        "detectability_mean",
        "detectability_se",
        "deviation_rate",
    }
    rows = (run_dir / "metrics" / "attack" / "metrics.csv").read_text().splitlines()
    for column in ("train/return", "train/detectability", "train/adversary_reward", "train/loss_actor", "frames"):
        assert column in rows[0], column
    assert (run_dir / "config.yaml").is_file() and (run_dir / "checkpoints" / "last.ckpt").is_file()


def test_the_adversary_trains_on_minus_team_reward_minus_c_times_detectability(defender_runs, tmp_path):
    """On steps collected by the module's own env and policy: d by hand from pi0, r_adv = -r - c1 * d."""
    cfg = attack_config("dyn1", defender_runs["game"], tmp_path / "run")
    module = build_attack_module(cfg)
    env = module.decorate_env(make("mpe_spread", module.num_envs, 3), rank=0)
    with torch.no_grad(), set_exploration_type(ExplorationType.RANDOM):
        batch = env.rollout(60, module.rollout_policy(), break_when_any_done=False)  # [16, 60], crosses a reset
    detect, reward = module.adversary_rewards(batch)

    obs, mask, action = batch[AGENTS, "observation"], batch[AGENTS, "action_mask"], batch[AGENTS, "action"]
    victim = batch["victim"]  # [16, 60]
    with torch.no_grad():
        logits = actor_net(module.reference)(obs).masked_fill(~mask, float("-inf"))
    log_p = torch.log_softmax(logits, -1).gather(-1, action.unsqueeze(-1)).squeeze(-1)  # [16, 60, N]
    by_hand = -log_p.gather(-1, victim.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(detect, by_hand)
    c1 = cfg.attack.c
    assert c1 > 0
    torch.testing.assert_close(reward, -batch["next", "reward"] - c1 * by_hand.unsqueeze(-1))
    # in another env's reward units (env.detectability_unit, LBF's 0.34 / 142): the weight is c1 times the unit
    unit = "env.detectability_unit=0.25"
    scaled = build_attack_module(attack_config("dyn1", defender_runs["game"], tmp_path / "u", unit))
    _, reward_u = scaled.adversary_rewards(batch)
    torch.testing.assert_close(reward_u, -batch["next", "reward"] - 0.25 * c1 * by_hand.unsqueeze(-1))

    # the adversary's action is the victim's executed one; the victim is drawn again after the reset at t = 50
    executed = action.gather(-1, victim.unsqueeze(-1)).squeeze(-1)
    assert torch.equal(executed, batch[ADVERSARY, "action"])
    assert (victim[:, :50] == victim[:, :1]).all() and (victim[:, 50:] == victim[:, 50:51]).all()
    assert (victim[:, 0] != victim[:, 50]).any()


def test_act_ignores_detectability_and_dyn2_weighs_it_more_than_dyn1(tmp_path):
    c = {kind: attack_config(kind, "unused", tmp_path).attack for kind in ("act", "dyn1", "dyn2")}
    assert [c[k].name for k in c] == ["act", "dyn1", "dyn2"]
    assert c["act"].c == 0.0
    assert 0.0 < c["dyn1"].c < c["dyn2"].c


def test_resume_from_last_reproduces_a_run_left_alone(defender_runs, tmp_path):
    """Stopped after 3 iterations (t = 75, two victim draws made), resumed: the draw at t = 100 and all must match."""
    steps = ["attack.iters_per_epoch=1", "attack.frames=2000"]  # 5 iterations, a checkpoint after each
    straight = train_attack(attack_config("dyn1", defender_runs["game"], tmp_path / "straight", *steps))
    stop = [f"+callbacks.stop._target_={__name__}.InterruptAtEpoch", "+callbacks.stop.epoch=3"]
    with pytest.raises(Interrupt):
        train_attack(attack_config("dyn1", defender_runs["game"], tmp_path / "stopped", *steps, *stop))
    assert (tmp_path / "stopped" / "checkpoints" / "last.ckpt").is_file()
    assert not (tmp_path / "stopped" / "attack.pt").exists()
    resumed = train_attack(attack_config("dyn1", defender_runs["game"], tmp_path / "stopped", *steps, "ckpt_path=last"))

    a = torch.load(tmp_path / "straight" / "attack.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "stopped" / "attack.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    straight.pop("wall_s"), resumed.pop("wall_s")
    assert straight == resumed
    assert (tmp_path / "stopped" / "metrics" / "attack-resumed1" / "metrics.csv").is_file()


def _no_compute(run_dir: Path) -> None:
    assert not (run_dir / "checkpoints").exists()


def test_unknown_attack_names_list_the_known_ones(defender_runs, tmp_path):
    with pytest.raises(MissingConfigException, match=r"(?s)act.*dyn1.*dyn2"):
        attack_config("dyn3", defender_runs["game"], tmp_path / "run")
    with pytest.raises(ValueError, match="unknown attack 'dyn3'; known RL attacks: act, dyn1, dyn2"):
        train_attack(attack_config("act", defender_runs["game"], tmp_path / "run", "attack.name=dyn3"))
    _no_compute(tmp_path / "run")


def test_negative_detectability_weight_is_refused(defender_runs, tmp_path):
    with pytest.raises(ValueError, match=r"attack.c .* must be >= 0, got -0.5"):
        train_attack(attack_config("dyn1", defender_runs["mappo"], tmp_path / "run", "attack.c=-0.5"))
    _no_compute(tmp_path / "run")


@pytest.mark.parametrize("unit", ["0", "-1.0", "nan"])
def test_a_detectability_unit_that_is_not_positive_is_refused(defender_runs, tmp_path, unit):
    with pytest.raises(ValueError, match=r"env.detectability_unit must be a positive number"):
        train_attack(attack_config("dyn1", defender_runs["mappo"], tmp_path / "run", f"env.detectability_unit={unit}"))
    _no_compute(tmp_path / "run")


def test_defender_directories_without_a_finished_run_are_refused(defender_runs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    no_pi0 = tmp_path / "no_pi0"
    no_pi0.mkdir()
    shutil.copy(defender_runs["game"] / "config.yaml", no_pi0)
    unfinished = tmp_path / "unfinished"  # a BATPAL run stopped before its adversarial stage ended
    unfinished.mkdir()
    for name in ("config.yaml", "pi0.pt"):
        shutil.copy(defender_runs["game"] / name, unfinished)
    summary = json.loads((defender_runs["game"] / "summary.json").read_text())
    (unfinished / "summary.json").write_text(json.dumps({"pretrain": summary["pretrain"]}))
    cases = [
        (tmp_path / "missing", FileNotFoundError, "does not exist"),
        (empty, FileNotFoundError, "has no config.yaml"),
        (no_pi0, FileNotFoundError, "has no pi0.pt"),
        (unfinished, ValueError, r"has not finished stage\(s\) \['calibrate', 'adversarial'\]"),
    ]
    for i, (defender, error, message) in enumerate(cases):
        run_dir = tmp_path / f"run{i}"
        with pytest.raises(error, match=message):
            train_attack(attack_config("act", defender, run_dir))
        _no_compute(run_dir)
    cfg = attack_config("act", defender_runs["game"], tmp_path / "lbf")
    cfg.env.name = "lbf"
    with pytest.raises(ValueError, match="plays 'mpe_spread'"):
        train_attack(cfg)


def test_warm_start_makes_the_adversary_play_pi0_on_the_victims_slot(defender_runs, tmp_path):
    cfg = attack_config("act", defender_runs["mappo"], tmp_path / "run", "attack.warm_start=true")
    module = build_attack_module(cfg)
    obs, victim = torch.randn(7, 3, module.dims["obs_dim"]), torch.tensor([0, 1, 2, 0, 1, 2, 1])
    with torch.no_grad():
        pi0_logits = actor_net(module.reference)(obs)[torch.arange(7), victim]  # [7, A]
        torch.testing.assert_close(module.net(adversary_input(obs, victim, 3)), pi0_logits)


def test_command_line_writes_attack_log_with_its_end_table(defender_runs, tmp_path):
    """``python -m batpal.attack``: the run dir's ``attack.log`` holds the stage's banner and the end table, with no
    colour codes."""
    from tests.zygote import zygote

    out = tmp_path / "cli"
    args = [*TINY_ATTACK, "attack=act", f"defender={defender_runs['mappo']}", f"hydra.run.dir={out}"]
    done = zygote().run("batpal.attack", args, tmp_path / "attack.out", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    log = (out / "attack.log").read_text()
    assert "== batpal.attack: summary (" in log and "attack act (c=" in log and "detectability" in log
    assert "\x1b[" not in log
