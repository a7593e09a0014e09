"""Defenders from run dirs, the fixed-victim keys, and the attacked team (victim slot, belief's previous action)."""

from __future__ import annotations

import shutil

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from batpal.attacks.base import Attack
from batpal.defenders import AttackedTeam, GameDefender, ReferenceDefender, load_defender
from batpal.envs import make
from batpal.eval.victims import FixedVictims

VICTIMS = torch.tensor([-1, 0, 1, 2])


class ConstantAttack(Attack):
    """Always action ``a``: easy to recognise in the victim's slot."""

    def __init__(self, a: int) -> None:
        super().__init__(f"constant {a}")
        self.a = a

    def act(self, observation, victim_mask, victim):
        return torch.full_like(victim, self.a)


def _env(defender, victims=VICTIMS, seed=0):
    return defender.decorate(make(defender.env_name, victims.numel(), seed), victims, seed)


def test_load_defender_kinds_and_facts(game_run, mappo_run):
    game, ref = load_defender(game_run), load_defender(mappo_run)
    assert isinstance(game, GameDefender) and game.name == "BATPAL" and game.K == 4
    assert isinstance(ref, ReferenceDefender) and ref.name == "MAPPO"
    for d in (game, ref):
        assert d.env_name == "mpe_spread" and d.env_kwargs == {}
        assert d.dims == {"n_agents": 3, "obs_dim": 18, "n_actions": 5, "state_dim": 54}
        assert d.max_episode_steps == 50 and d.gamma == pytest.approx(0.99)
        assert not any(p.requires_grad for p in d.reference_policy().parameters())
    assert load_defender(mappo_run, "pi0 team").name == "pi0 team"
    assert game.module.policy_input.teacher_forcing == 0.0


def test_load_defender_errors_name_dir_and_file(tmp_path, mappo_run):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_defender(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(mappo_run / "config.yaml", empty / "config.yaml")
    with pytest.raises(FileNotFoundError, match=rf"{empty} has no pi0\.pt"):
        load_defender(empty)
    (empty / "config.yaml").unlink()
    with pytest.raises(FileNotFoundError, match=r"has no config\.yaml"):
        load_defender(empty)


def test_fixed_victims_writes_constant_game_keys_across_resets():
    env = make("mpe_spread", 3, 0)
    env.append_transform(FixedVictims(torch.tensor([-1, 0, 2]), 3, K=4, severity=2))
    traj = env.rollout(60, break_when_any_done=False)  # crosses the 50-step episode end
    assert traj["victim"].tolist() == [[-1] * 60, [0] * 60, [2] * 60]
    assert traj["type"][:, 0].tolist() == [0, 2, 10]  # z = 1 + v K + (k - 1)
    assert traj["severity"][:, 0].tolist() == [0, 2, 2]
    assert bool((traj["world"] == 1).all()) and bool((traj["next", "type"] == traj["type"]).all())
    with pytest.raises(ValueError, match="victims must lie in -1..2"):
        FixedVictims(torch.tensor([3]), 3)


@pytest.mark.parametrize("kind", ["game", "mappo"])
def test_attacked_team_replaces_only_the_victim_slot(kind, game_run, mappo_run):
    defender = load_defender(game_run if kind == "game" else mappo_run)
    env = _env(defender)
    td = env.reset()
    torch.manual_seed(0)
    alone = defender.policy()(td.clone())["agents", "action"]
    torch.manual_seed(0)
    attacked = AttackedTeam(defender.policy(), ConstantAttack(3))(td.clone())["agents", "action"]
    slot = F.one_hot(VICTIMS.clamp(min=0), 3).bool() & (VICTIMS >= 0).unsqueeze(-1)
    assert bool((attacked[slot] == 3).all())
    assert torch.equal(attacked[~slot], alone[~slot])  # the team's own samples elsewhere, row -1 untouched


def test_belief_sees_the_attacks_action_not_psi_k(game_run):
    defender = load_defender(game_run)
    env = _env(defender)
    torch.manual_seed(1)
    traj = env.rollout(20, AttackedTeam(defender.policy(), ConstantAttack(3)), break_when_any_done=False)
    actions = traj["agents", "action"]  # [B, T, N]
    prev = traj["agents", "prev_action"]  # [B, T, N, A], chi's previous-action input
    assert torch.equal(prev[:, 1:], F.one_hot(actions[:, :-1], 5).float())  # exactly the executed actions
    for b, v in enumerate(VICTIMS.tolist()):
        if v >= 0:
            assert bool((actions[b, :, v] == 3).all())
            assert bool((prev[b, 1:, v, 3] == 1).all())  # psi_k's own samples never reach the belief
    # and chi's belief in the trajectory is computed from those inputs
    seq = defender.module.belief.sequence_module()
    replay = seq(traj.select(*seq.in_keys).clone())
    assert torch.allclose(replay["agents", "belief"], traj["agents", "belief"], atol=1e-5)


def test_label_is_the_runs_method_in_the_papers_spelling(game_run, mappo_run, tmp_path):
    for source, name in ((game_run, "eir"), (mappo_run, "pi0")):
        copy = tmp_path / name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("checkpoints", "metrics", "tensorboard"))
        cfg = OmegaConf.load(copy / "config.yaml")
        cfg.method = "eir_mappo"
        OmegaConf.save(cfg, copy / "config.yaml")
    assert load_defender(tmp_path / "eir").name == "EIR-MAPPO"
    assert load_defender(tmp_path / "pi0").name == "MAPPO"  # no defender.pt: the team is pi0 whatever the method
