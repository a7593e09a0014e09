"""EC-PPO, the adversary's update (section 4.1, eq. 12-14): PPO against the team in world 1 plus a log barrier
keeping V(0), the value the adversary imposes on the reference policy pi0 (eq. 13), inside its band [l, h].

Sign conventions. Both advantages passed in are advantages of the TEAM's value: ``adv_1`` from phi(1) in
world 1 (so E[grad log rho * adv_1] estimates grad V(1)) and ``adv_0`` from phi(0) in world 0 (grad V(0)).
The adversary psi minimises eq. 9, V(1) - lam log(V(0) - l) - lam log(h - V(0)), whose gradient (eq. 10, 12)
is grad V(1) - w grad V(0) with w = lam (1/(V(0) - l) - 1/(h - V(0))). The loss below is a surrogate whose
gradient is that vector, so an optimizer's descent step psi <- psi - alpha grad(loss) is eq. 11. The constant
1/(1 - gamma) of eq. 10 is left to the learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor


# -- eq. 13 ----------------------------------------------------------------------------------------
class ValueZeroEstimate(NamedTuple):
    """Eq. 13's V_hat(0): ``mean`` over the ``count`` world-0 episodes that start in the batch (NaN if none)."""

    mean: Tensor  # [] NaN when count == 0: callers must guard
    per_episode: Tensor  # [count] one discounted value per episode, ordered by end time then env
    count: int


def _as_series(x: Tensor, name: str) -> Tensor:
    """[E, T] from [E, T] or TorchRL's [E, T, 1]."""
    if x.dim() == 3 and x.shape[-1] == 1:
        x = x.squeeze(-1)
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape [envs, time] (or [envs, time, 1]), got {list(x.shape)}.")
    return x.detach()


def value_zero_estimate(
    reward: Tensor,
    start: Tensor,
    done: Tensor,
    terminated: Tensor,
    next_value: Tensor,
    gamma: float,
) -> ValueZeroEstimate:
    """Eq. 13 on world-0 time series [E, T] that may hold several, and partial, episodes per env.

    Every episode m whose first step lies in the batch (``start``: TorchRL's ``is_init``, True at a reset and
    exactly on the step after each ``done``) contributes sum_t gamma^t r_t + gamma^{T_m} V_phi(0)(s_{T_m}):
    the bootstrap ``next_value`` (phi(0) of the step's NEXT state) is read at the episode's last step in the
    batch unless that step is ``terminated``, which adds 0. So an episode truncated by the time limit, even
    one ending exactly on the batch's last step (the authors' defect 1), and one cut by the batch end both
    bootstrap from the critic. Episodes already running at the batch's first step are left out (their start
    state is unseen). The factor gamma^{T_m}, missing in the paper's eq. 13, makes it the initial-state value.
    """
    reward, start, done = _as_series(reward, "reward"), _as_series(start, "start"), _as_series(done, "done")
    terminated, next_value = _as_series(terminated, "terminated"), _as_series(next_value, "next_value")
    if not reward.shape == start.shape == done.shape == terminated.shape == next_value.shape:
        raise ValueError("reward, start, done, terminated and next_value must share one [envs, time] shape.")
    if any(x.dtype != torch.bool for x in (start, done, terminated)):
        raise ValueError("start, done and terminated must be bool tensors.")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {gamma}.")
    if bool((terminated & ~done).any()):
        raise ValueError("terminated must imply done.")
    if bool((start[:, 1:] != done[:, :-1]).any()):
        raise ValueError("start must be True exactly on the step after a done (start[:, t] == done[:, t - 1]).")

    n_envs, horizon = reward.shape
    ret = reward.new_zeros(n_envs)  # [E] discounted return so far of the current episode
    disc = reward.new_ones(n_envs)  # [E] gamma^(steps so far)
    active = torch.zeros(n_envs, dtype=torch.bool, device=reward.device)  # [E] its start was seen
    values: list[Tensor] = []
    for t in range(horizon):
        begin = start[:, t]  # [E]
        active = active | begin
        ret = torch.where(begin, 0.0, ret) + torch.where(begin, 1.0, disc) * reward[:, t]
        disc = torch.where(begin, 1.0, disc) * gamma  # gamma^{T_m} once the episode ends here
        closes = active & (done[:, t] | (t == horizon - 1))  # [E] its last step in the batch
        bootstrap = torch.where(closes & ~terminated[:, t], disc * next_value[:, t], 0.0)  # no NaN leaks
        values.append((ret + bootstrap)[closes])
        active = active & ~done[:, t]
    per_episode = torch.cat(values)  # [M]
    count = int(per_episode.numel())
    mean = per_episode.mean() if count else reward.new_tensor(float("nan"))
    return ValueZeroEstimate(mean=mean, per_episode=per_episode, count=count)


# -- the barrier of eq. 12 / 14 ---------------------------------------------------------------------
def barrier_weight(v0: Tensor | float, low: Tensor | float, high: Tensor | float, lam: float) -> Tensor:
    """w = lam (1/(V0 - l) - 1/(h - V0)), the coefficient of grad V(0) in eq. 12 / 14; 0 unless l < V0 < h.

    Outside the open interval (and at its edges, or for a NaN V0) the weight is 0, never inf or NaN.
    """
    v0 = torch.as_tensor(v0)
    v0 = v0 if v0.dtype.is_floating_point else v0.to(torch.get_default_dtype())
    below, above = v0 - low, high - v0
    interior = (below > 0) & (above > 0)
    safe_below = torch.where(interior, below, torch.ones_like(below))
    safe_above = torch.where(interior, above, torch.ones_like(above))
    return torch.where(interior, lam * (1.0 / safe_below - 1.0 / safe_above), torch.zeros_like(below))


def inside_band(v0: Tensor | float, low: Tensor | float, high: Tensor | float, zeta: float) -> Tensor:
    """Eq. 14's first case, l + zeta <= V0 <= h - zeta (False for NaN)."""
    v0 = torch.as_tensor(v0)
    return (v0 >= low + zeta) & (v0 <= high - zeta)


# -- eq. 14 ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ECPPOResult:
    """The EC-PPO loss to minimise and what to log about it."""

    loss: Tensor  # [] differentiable in psi
    inside: bool  # eq. 14's first case was taken
    v0_valid: bool  # False: V_hat(0) was NaN (no world-0 episode), only the world-1 PPO term was used
    barrier_weight: float  # w of eq. 14 (0 unless inside)
    clip_fraction: float  # world-1 steps with |ratio - 1| > clip_epsilon (0 on an empty minibatch)
    approx_kl: float  # mean (ratio - 1) - log ratio over world-1 steps (0 on an empty minibatch)


def _safe_mean(x: Tensor) -> Tensor:
    """Mean that is 0 (still in the graph) on an empty tensor instead of NaN."""
    return x.sum() / max(x.numel(), 1)


def _check_same_shape(*named: tuple[str, Tensor]) -> None:
    shape = named[0][1].shape
    if len(shape) != 1 or any(t.shape != shape for _, t in named):
        raise ValueError(
            f"{', '.join(n for n, _ in named)} must be 1-D of one length, got {[list(t.shape) for _, t in named]}."
        )


def ec_ppo_loss(
    logp_new_1: Tensor,
    logp_old_1: Tensor,
    adv_1: Tensor,
    logp_new_0: Tensor,
    adv_0: Tensor,
    *,
    v0_hat: Tensor | float,
    low: float,
    high: float,
    lam: float,
    zeta: float,
    clip_epsilon: float,
    entropy: Tensor | None = None,
    entropy_coeff: float = 0.0,
) -> ECPPOResult:
    """Eq. 14 as a loss for the adversary psi_k on its victim steps: world 1 [M1], world 0 [M0].

    ``logp_new_*`` must be recomputed by the current psi on exactly the inputs it acted on (authors' defect 2).
    Inside [l + zeta, h - zeta]: mean(max(A1 r, A1 clip(r))) - w mean(logp_new_0 A0) - c_ent mean(entropy), the
    PPO clip loss on the adversary's advantage -A1 and the unclipped REINFORCE surrogate of V(0), w treated as
    a constant. Otherwise: sign(V0 - (l + h)/2) mean(logp_new_0 A0), no PPO term and no entropy (as the paper
    and the authors). A NaN ``v0_hat`` gives the world-1 PPO and entropy terms alone; an empty side gives 0.
    """
    _check_same_shape(("logp_new_1", logp_new_1), ("logp_old_1", logp_old_1), ("adv_1", adv_1))
    _check_same_shape(("logp_new_0", logp_new_0), ("adv_0", adv_0))
    if entropy is not None:
        _check_same_shape(("logp_new_1", logp_new_1), ("entropy", entropy))
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"the band needs finite low < high, got [{low}, {high}].")
    if lam < 0 or zeta < 0 or clip_epsilon <= 0:
        raise ValueError(f"need lam >= 0, zeta >= 0, clip_epsilon > 0; got {lam}, {zeta}, {clip_epsilon}.")

    # World 1: the adversary maximises PPO's clipped objective on its advantage -A1, min(-A1 r, -A1 clip(r)),
    # i.e. minimises max(A1 r, A1 clip(r)); at r = 1 its gradient is E[grad log rho A1] = grad V(1), so descent
    # lowers the team's value, and the clip stops the ratio once the adversary has moved past 1 +- eps.
    log_ratio = logp_new_1 - logp_old_1.detach()  # [M1]
    ratio = log_ratio.exp()  # [M1]
    adv_1 = adv_1.detach()
    ppo_1 = _safe_mean(torch.maximum(adv_1 * ratio, adv_1 * ratio.clamp(1 - clip_epsilon, 1 + clip_epsilon)))
    bonus = entropy_coeff * _safe_mean(entropy) if entropy is not None else logp_new_1.new_zeros(())
    # World 0: grad of mean(logp A0) is the actor-critic estimate of grad V(0) (eq. 12's grad_(0)).
    pg_0 = _safe_mean(logp_new_0 * adv_0.detach())  # [] surrogate of V(0)

    v0 = float(v0_hat.detach()) if isinstance(v0_hat, Tensor) else float(v0_hat)
    valid = math.isfinite(v0)
    inside = valid and bool(inside_band(v0, low, high, zeta))
    weight = float(barrier_weight(v0, low, high, lam)) if inside else 0.0
    if not valid:
        loss = ppo_1 - bonus
    elif inside:
        # Descent adds +alpha w grad V(0): near l (attack too severe) w >> 0 and V(0) rises, near h w << 0
        # and V(0) falls; both push V(0) back into the band (eq. 9's barrier).
        loss = ppo_1 - weight * pg_0 - bonus
    else:
        # Descent adds -alpha sign grad V(0): above the centre (attack too mild) V(0) falls, below it rises.
        centre = 0.5 * (low + high)
        loss = float((v0 > centre) - (v0 < centre)) * pg_0

    with torch.no_grad():
        clip_fraction = float(_safe_mean(((ratio - 1).abs() > clip_epsilon).to(ratio.dtype)))
        approx_kl = float(_safe_mean((ratio - 1) - log_ratio))
    return ECPPOResult(loss, inside, valid, weight, clip_fraction, approx_kl)


def ec_ppo_loss_grouped(
    logp_new: Tensor,
    logp_old: Tensor,
    adv: Tensor,
    world1: Tensor,
    group: Tensor,
    *,
    v0_hat: Tensor,
    low: Tensor,
    high: Tensor,
    lam: float,
    zeta: float,
    clip_epsilon: float,
    entropy: Tensor,
    entropy_coeff: float,
) -> Tensor:
    """The mean over groups (victims) g of ``ec_ppo_loss`` on group g's rows, in one vectorised pass.

    Rows [M]: ``world1`` says which side (eq. 14's world-1 PPO term or world-0 surrogate) a row feeds, ``group``
    its victim in 0..G-1; per-group ``v0_hat``, ``low``, ``high`` [G]. Groups without rows are left out of the
    mean. Equal in value and gradient to stacking ``ec_ppo_loss`` per group (tested), without G Python calls.
    """
    n_groups = v0_hat.shape[0]
    w1 = world1.to(logp_new.dtype)
    count1 = torch.zeros(n_groups, dtype=logp_new.dtype, device=logp_new.device).index_add_(0, group, w1)
    count0 = torch.zeros_like(count1).index_add_(0, group, 1.0 - w1)
    present = (count1 + count0) > 0

    def group_mean(x: Tensor, weight: Tensor, count: Tensor) -> Tensor:  # [G] per-group mean, 0 when empty
        total = torch.zeros_like(count1).index_add(0, group, x * weight)
        return total / count.clamp_min(1.0)

    ratio = (logp_new - logp_old.detach()).exp()
    a = adv.detach()
    ppo_1 = group_mean(torch.maximum(a * ratio, a * ratio.clamp(1 - clip_epsilon, 1 + clip_epsilon)), w1, count1)
    bonus = entropy_coeff * group_mean(entropy, w1, count1)
    pg_0 = group_mean(logp_new * a, 1.0 - w1, count0)

    v0 = v0_hat.detach().to(logp_new.dtype)
    valid = torch.isfinite(v0)
    inside = valid & inside_band(v0, low, high, zeta)
    weight = torch.where(inside, barrier_weight(torch.where(valid, v0, 0.0), low, high, lam), 0.0)
    centre = 0.5 * (low + high)
    sign = (v0 > centre).to(v0.dtype) - (v0 < centre).to(v0.dtype)
    loss = torch.where(~valid, ppo_1 - bonus, torch.where(inside, ppo_1 - weight * pg_0 - bonus, sign * pg_0))
    return loss[present].mean() if bool(present.any()) else logp_new.sum() * 0.0
