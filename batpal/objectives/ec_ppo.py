"""EC-PPO, the adversary's update (section 4.1, eq. 12-14): PPO against the team in world 1 plus a log barrier
keeping V(0), the value the adversary imposes on the reference policy pi0, inside its band [l, h]. V_hat(0), eq.
13, is estimated in ``batpal.game.value_zero``.

Eq. 14, per victim (set) v with its band [l_v, h_v] and estimate V_hat(0)_v:

    g = grad_PPO(1) - lam (1/(V_hat(0) - l) - 1/(h - V_hat(0))) grad_hat(0)    if l + zeta <= V_hat(0) <= h - zeta
    g = sign(V_hat(0) - (l + h)/2) grad_hat(0)                                   otherwise

Sign conventions. Both advantages are advantages of the TEAM's value: world-1 rows from phi(1) (so E[grad log
rho * A] estimates grad V(1)) and world-0 rows from phi(0) (grad V(0)). The adversary psi minimises eq. 9,
V(1) - lam log(V(0) - l) - lam log(h - V(0)), whose gradient (eq. 10, 12) is grad V(1) - w grad V(0) with the
barrier weight w = lam (1/(V(0) - l) - 1/(h - V(0))). The loss below is a surrogate whose gradient is eq. 14's
vector, so an optimizer's descent step psi <- psi - alpha grad(loss) is eq. 11 / 16. The constant 1/(1 - gamma)
of eq. 10 is left to the learning rate.

The second case's step is taken through PPO's ratio clip on the world-0 rows (its gradient at r = 1 is eq. 14's
sign(.) grad_hat(0)): as a plain REINFORCE surrogate, repeated over the PPO epochs, it moved psi_k about 20 times
as far per iteration as the clipped first case on MPE (approx. KL 0.12 against 0.006) and overshot the band.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class ECPPOResult(NamedTuple):
    """The EC-PPO loss to minimise and what to log about it: ``loss, diagnostics = ec_ppo(...)``."""

    loss: Tensor  # [] differentiable in psi
    diagnostics: dict[str, Tensor]  # detached [] tensors, see ``ec_ppo``


def _check_rows(**named: Tensor) -> None:
    shape = next(iter(named.values())).shape
    if len(shape) != 1 or any(t.shape != shape for t in named.values()):
        shapes = [list(t.shape) for t in named.values()]
        raise ValueError(f"{', '.join(named)} must be 1-D of one length, got {shapes}.")


def _check_arguments(world1: Tensor, low: Tensor, high: Tensor, lam: float, zeta: Tensor, clip_epsilon: float) -> None:
    if world1.dtype != torch.bool:
        raise ValueError(f"world1 must be a bool tensor, got {world1.dtype}.")
    if lam < 0 or bool((zeta < 0).any()) or not clip_epsilon > 0:
        raise ValueError(f"need lam >= 0, zeta >= 0, clip_epsilon > 0; got {lam}, {zeta.tolist()}, {clip_epsilon}.")
    if not bool((torch.isfinite(low) & torch.isfinite(high) & (low < high)).all()):
        raise ValueError(f"every band needs finite low < high, got low={low.tolist()}, high={high.tolist()}.")


def ec_ppo(
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
    zeta: Tensor | float,
    clip_epsilon: float,
    entropy: Tensor,
    entropy_coeff: float,
    sign_entropy: bool = False,
) -> ECPPOResult:
    """Eq. 14 as a loss for the adversary psi_k: the mean over victims (sets) v of eq. 14 on v's rows.

    Rows [M] (psi_k's steps): ``logp_new`` recomputed by the current psi on exactly the inputs it acted on (the
    authors' defect 2), ``logp_old`` stored at collection, the team's advantage ``adv``, ``entropy``; ``world1``
    says whether a row feeds the PPO term (world 1; calibrate passes its world-0 rows here) or the world-0
    surrogate of V(0), ``group`` its victim (set) v in 0..G-1. Per group [G]: ``v0_hat`` (eq. 13; NaN = no
    estimate), the band ``low``, ``high``, and the guard ``zeta`` (value units; a number is the same for all).
    ``clip_epsilon = inf`` is EC-PG (no ratio clip).

    Per group: inside [l + zeta, h - zeta], mean(max(A r, A clip(r))) - w mean(logp_new A) - c_ent mean(entropy):
    the PPO clip loss on the adversary's advantage -A (world-1 rows) and the unclipped REINFORCE surrogate of
    V(0) (world-0 rows), w a constant (0 at an edge of [l, h], where the paper's w is infinite). Otherwise
    mean(max(s A r, s A clip(r))) on the world-0 rows with s = sign(V0 - (l + h)/2), the clipped form of the
    paper's sign(.) grad_hat(0) (same gradient at r = 1), no PPO-against-world-1 and no entropy term (as the paper
    and the authors) unless ``sign_entropy``, which keeps the entropy bonus there, on the world-0 rows the step
    reads (without it, on LBF, psi_k's entropy fell from pi0's 0.4-0.7 to ~0.05 within 2M frames of steps that
    were meant to make it milder, and its severity rose: issue 14). A non-finite ``v0_hat`` gives the PPO and
    entropy terms alone. A group's side without rows adds 0; groups without rows are left out of the mean, and no
    rows at all give a 0 that is still in the graph.

    ``diagnostics`` (detached [] tensors): the share of the groups with rows in each case of eq. 14,
    ``case_barrier`` (first case), ``case_below`` / ``case_above`` (the sign step from V0 below / above the band
    centre; V0 exactly at the centre, possible only if zeta >= (h - l)/2, is in neither) and ``case_no_v0`` (no
    V_hat(0)); ``barrier_weight``, the mean w over the groups in the first case (0 if none); and over the PPO
    rows (0 if none): ``clip_fraction`` (|r - 1| > clip_epsilon), ``approx_kl`` (mean (r - 1) - log r) and
    ``entropy`` (mean); over the world-0 rows (0 if none): ``approx_kl_0`` (how far psi moved on the steps the
    V(0) surrogate reads, which no ratio clip bounds) and ``entropy_0``.
    """
    zeta = torch.as_tensor(zeta, dtype=low.dtype, device=low.device).expand_as(low)  # [G]
    _check_rows(logp_new=logp_new, logp_old=logp_old, adv=adv, world1=world1, group=group, entropy=entropy)
    _check_rows(v0_hat=v0_hat, low=low, high=high, zeta=zeta)
    _check_arguments(world1, low, high, lam, zeta, clip_epsilon)
    # Which rows feed which estimate, and the per-group mean over them ([G], 0 for a group without such rows).
    rows_1 = world1.to(logp_new.dtype)  # [M] 1: grad_PPO(1)'s rows
    rows_0 = 1.0 - rows_1  # [M] 1: grad_hat(0)'s rows
    zeros = logp_new.new_zeros(v0_hat.shape[0])  # [G]
    n_1 = zeros.index_add(0, group, rows_1)  # [G]
    n_0 = zeros.index_add(0, group, rows_0)  # [G]
    present = (n_1 + n_0) > 0  # [G] groups with rows: the ones that enter the mean

    def mean_of(x: Tensor, rows: Tensor, n: Tensor) -> Tensor:
        return zeros.index_add(0, group, x * rows) / n.clamp_min(1.0)

    # grad_PPO(1): the adversary maximises PPO's clipped objective on its advantage -A, min(-A r, -A clip(r)), i.e.
    # minimises max(A r, A clip(r)); at r = 1 its gradient is E[grad log rho A] = grad V(1), so descent lowers the
    # team's value, and the clip stops the ratio once psi has moved past 1 +- eps.
    log_ratio = logp_new - logp_old.detach()  # [M]
    ratio = log_ratio.exp()  # [M]
    adv = adv.detach()
    ratio_clipped = ratio.clamp(1 - clip_epsilon, 1 + clip_epsilon)
    ppo_1 = mean_of(torch.maximum(adv * ratio, adv * ratio_clipped), rows_1, n_1)  # [G]
    bonus = entropy_coeff * mean_of(entropy, rows_1, n_1)  # [G]
    # grad_hat(0): the gradient of mean(logp A) is the actor-critic estimate of grad V(0) (eq. 12).
    pg_0 = mean_of(logp_new * adv, rows_0, n_0)  # [G]

    # The case of eq. 14 and its coefficients, from V_hat(0): constants, no gradient.
    v0 = v0_hat.detach().to(logp_new.dtype)  # [G]
    valid = torch.isfinite(v0)  # [G] False: no V_hat(0), the PPO term alone
    inside = (low + zeta <= v0) & (v0 <= high - zeta)  # [G] eq. 14's first case
    interior = (v0 - low > 0) & (high - v0 > 0)  # [G] l < V0 < h, where w is finite
    barrier = lam * (1 / (v0 - low) - 1 / (high - v0))  # [G] w
    barrier = torch.where(inside & interior, barrier, 0.0)  # finite everywhere: 0 * w must not be NaN
    centre = 0.5 * (low + high)
    sign = (v0 > centre).to(v0.dtype) - (v0 < centre).to(v0.dtype)  # [G] 0 for NaN (not torch.sign)

    # Descent on the first case adds +alpha w grad V(0): near l (attack too severe) w >> 0 and V(0) rises, near h
    # w << 0 and V(0) falls (eq. 9's barrier). On the second it adds -alpha sign grad V(0): above the centre
    # (attack too mild) V(0) falls, below it rises.
    loss_barrier = ppo_1 - barrier * pg_0 - bonus  # [G]
    signed = sign[group] * adv  # [M] per row: s A, whose clipped ratio surrogate is the second case's loss
    loss_sign = mean_of(torch.maximum(signed * ratio, signed * ratio_clipped), rows_0, n_0)  # [G]
    if sign_entropy:
        loss_sign = loss_sign - entropy_coeff * mean_of(entropy, rows_0, n_0)
    loss_no_v0 = ppo_1 - bonus  # [G]
    loss = torch.where(valid, torch.where(inside, loss_barrier, loss_sign), loss_no_v0)  # [G]
    loss = loss[present].mean() if bool(present.any()) else logp_new.sum() * 0.0

    with torch.no_grad():
        n_groups = present.sum().clamp_min(1)
        case_barrier = present & valid & inside
        case_sign = present & valid & ~inside
        n_rows_1, n_rows_0 = world1.sum().clamp_min(1), (~world1).sum().clamp_min(1)

        def mean_1(x: Tensor) -> Tensor:  # over the PPO rows, 0 when there are none
            return torch.where(world1, x, 0.0).sum() / n_rows_1

        def mean_0(x: Tensor) -> Tensor:  # over the V(0) surrogate's rows, 0 when there are none
            return torch.where(world1, 0.0, x).sum() / n_rows_0

        diagnostics = {
            "case_barrier": case_barrier.sum() / n_groups,
            "case_below": (case_sign & (v0 < centre)).sum() / n_groups,
            "case_above": (case_sign & (v0 > centre)).sum() / n_groups,
            "case_no_v0": (present & ~valid).sum() / n_groups,
            "barrier_weight": torch.where(case_barrier, barrier, 0.0).sum() / case_barrier.sum().clamp_min(1),
            "clip_fraction": mean_1(((ratio - 1).abs() > clip_epsilon).to(ratio.dtype)),
            "approx_kl": mean_1((ratio - 1) - log_ratio),
            "entropy": mean_1(entropy.detach()),
            "approx_kl_0": mean_0((ratio - 1) - log_ratio),
            "entropy_0": mean_0(entropy.detach()),
        }
        diagnostics = {name: value.to(logp_new.dtype) for name, value in diagnostics.items()}
    return ECPPOResult(loss, diagnostics)


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
    logp_old_0: Tensor | None = None,
) -> ECPPOResult:
    """``ec_ppo`` with one group: world-1 rows [M1] (the PPO term) and world-0 rows [M0] (the V(0) surrogate);
    ``logp_old_0`` (default: ``logp_new_0``, ratio 1) are the world-0 rows' log-probs at collection."""
    _check_rows(logp_new_1=logp_new_1, logp_old_1=logp_old_1, adv_1=adv_1)
    _check_rows(logp_new_0=logp_new_0, adv_0=adv_0)
    if entropy is not None:
        _check_rows(logp_new_1=logp_new_1, entropy=entropy)
    logp_new = torch.cat([logp_new_1, logp_new_0])
    if logp_old_0 is not None:
        _check_rows(logp_new_0=logp_new_0, logp_old_0=logp_old_0)
    logp_old = torch.cat([logp_old_1, logp_new_0.detach() if logp_old_0 is None else logp_old_0])
    if entropy is None:
        entropy = logp_new_1.new_zeros(logp_new_1.shape)
    world1 = torch.cat([torch.ones_like(logp_new_1, dtype=torch.bool), torch.zeros_like(logp_new_0, dtype=torch.bool)])
    one = logp_new.new_ones(1)
    return ec_ppo(
        logp_new,
        logp_old,
        torch.cat([adv_1, adv_0]),
        world1,
        torch.zeros_like(world1, dtype=torch.long),
        v0_hat=torch.as_tensor(v0_hat, dtype=logp_new.dtype, device=logp_new.device).reshape(1),
        low=one * low,
        high=one * high,
        lam=lam,
        zeta=zeta,
        clip_epsilon=clip_epsilon,
        entropy=torch.cat([entropy, logp_new_0.new_zeros(logp_new_0.shape)]),
        entropy_coeff=entropy_coeff,
    )
