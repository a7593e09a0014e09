"""Detectability of a victim's actions and the RL attacks' shaped reward (ACT, DYN-1, DYN-2).

The paper (after Kazari et al. 2023) lets dynamic adversaries trade impact against detectability without fixing
the measure; ours: the detectability of a step is the negative log-likelihood of the victim's executed action
under the run's frozen reference policy pi0, given the victim's own observation,

    d_t = -log pi0(a_t^v | o_t^v),

i.e. how surprising the action is to a team that knows how its members normally act (pi0). It is 0 for an action
pi0 takes surely and grows without bound for actions pi0 never takes; a victim that plays pi0 itself scores pi0's
entropy on average. The adversary's reward is r_adv = -r_team - c * u * d_t, c >= 0 (c = 0: ACT, unconstrained),
with u = ``env.detectability_unit``: the c of DYN-1 / DYN-2 were set in MPE-Spread's reward (u = 1), and u scales
them to an env whose returns span another range, so that a nat of detectability costs the same share of the
paper's normalised return there (LBF: u = 0.34 / 142, the ratio of the two ranges; without it DYN-2 on LBF paid
more for deviating than the whole team return it could destroy, and stayed at pi0: 0.98 normalised).
"""

from __future__ import annotations

import math

import torch
from tensordict import TensorDictBase
from torchrl.modules import ProbabilisticActor

AGENTS = "agents"


def _reference_dist(reference: ProbabilisticActor, td: TensorDictBase) -> torch.distributions.Distribution:
    inputs = td.select((AGENTS, "observation"), (AGENTS, "action_mask"))  # pi0 writes its logits here, not in td
    return reference.get_dist(inputs)


def check_detectability_unit(unit: float) -> None:
    """A unit that is not a positive finite number is refused, naming the setting."""
    if not (isinstance(unit, int | float) and math.isfinite(unit) and unit > 0):
        raise ValueError(f"env.detectability_unit must be a positive number (reward per nat of detectability at "
                         f"attack.c = 1; MPE-Spread 1.0), got {unit!r}.")


@torch.no_grad()
def agent_detectability(reference: ProbabilisticActor, td: TensorDictBase) -> torch.Tensor:
    """-log pi0(a_i | o_i) [*batch, N] of every agent's action in ``("agents", "action")``.

    ``td`` holds ``("agents", "observation" | "action_mask" | "action")`` [*batch, N, ..].
    """
    return -_reference_dist(reference, td).log_prob(td.get((AGENTS, "action")))


@torch.no_grad()
def agent_deviation(reference: ProbabilisticActor, td: TensorDictBase) -> torch.Tensor:
    """1.0 where an agent's action is not pi0's most likely one [*batch, N]: a bounded companion of d for reports."""
    return (td.get((AGENTS, "action")) != _reference_dist(reference, td).logits.argmax(-1)).float()


def at_victim(per_agent: torch.Tensor, victim: torch.Tensor) -> torch.Tensor:
    """The victim's entry [*batch] of a per-agent quantity [*batch, N]; 0 where ``victim`` is -1 (no attack)."""
    value = per_agent.gather(-1, victim.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.where(victim >= 0, value, torch.zeros_like(value))


def detectability(reference: ProbabilisticActor, td: TensorDictBase) -> torch.Tensor:
    """d = -log pi0(a_v | o_v) [*batch] of the victim's executed action; 0 where ``victim`` [*batch] is -1."""
    return at_victim(agent_detectability(reference, td), td.get("victim"))


def adversary_reward(team_reward: torch.Tensor, detect: torch.Tensor, c: float) -> torch.Tensor:
    """r_adv = -r_team - c * d: the adversary gains what the team loses, minus the weighted detectability."""
    return -team_reward - c * detect
