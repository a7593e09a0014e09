"""The type space Z of eq. 2 (benign, or victim v attacked at severity k) and the common prior p over it.

Index convention (public, shared by every module): type index 0 is the benign type z = 0; index
``1 + v * K + (k - 1)`` is z = (v, k) for victim v in 0..N-1 and severity band k in 1..K; ``size = 1 + N * K``.

With ``victims = m > 1`` (appendix D.5: the m victims form one "compound" adversary) the victim index v is a
victim *set*: v indexes ``sets``, the m-subsets of the agents in lexicographic order (``itertools.combinations``),
and ``size = 1 + C(N, m) * K``. With m = 1 set v is {v}, so every index is the single-victim one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import torch
import torch.nn.functional as F
from torch import Tensor

BENIGN = 0


def _as_long(x: Tensor | int | Sequence[int], name: str) -> Tensor:
    """``x`` as a long tensor; floats and bools are refused so that a value tensor is never taken for an index."""
    t = torch.as_tensor(x)
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold integers, got dtype {t.dtype}.")
    return t.long()


class TypeSpace:
    """Z = {0} U {(v, k): v in victim sets, k in 1..K} (eq. 2), flattened to indices 0..size-1 (see the module doc).

    ``victims`` = m is the number of simultaneous victims; victim set v is ``sets[v]`` (one agent when m = 1).
    """

    def __init__(self, n_agents: int, K: int, victims: int = 1) -> None:
        if n_agents < 2:
            raise ValueError(f"n_agents must be >= 2 (a victim and at least one defender), got {n_agents}.")
        if K < 1:
            raise ValueError(f"K must be >= 1 (the number of severity bands per victim), got {K}.")
        if not 1 <= victims < n_agents:
            raise ValueError(
                f"victims must satisfy 1 <= victims < n_agents = {n_agents} (at least one agent stays on the team), "
                f"got {victims}."
            )
        self.n_agents = n_agents
        self.K = K
        self.victims = victims
        self.sets: tuple[tuple[int, ...], ...] = tuple(combinations(range(n_agents), victims))
        self.members = torch.tensor(self.sets, dtype=torch.long)  # [n_sets, m] the agents of each victim set

    @property
    def n_sets(self) -> int:
        """Number of victim sets C(N, m) (= N for a single victim)."""
        return len(self.sets)

    @property
    def size(self) -> int:
        """|Z| = 1 + C(N, m) * K (1 + N * K for a single victim)."""
        return 1 + self.n_sets * self.K

    def set_index(self, agents: Sequence[int]) -> int:
        """The victim-set index v of the agents ``agents`` (any order)."""
        key = tuple(sorted(int(a) for a in agents))
        if key not in self.sets:
            raise ValueError(
                f"{list(agents)} is not a set of {self.victims} distinct agents in 0..{self.n_agents - 1}."
            )
        return self.sets.index(key)

    def victim_mask(self, victim: Tensor | int) -> Tensor:
        """[.., N] bool: the agents taken over in victim set ``victim`` (all False where ``victim`` is -1)."""
        v = _as_long(victim, "victim")
        mask = torch.zeros(self.n_sets + 1, self.n_agents, dtype=torch.bool)  # row n_sets: nobody (benign)
        mask[torch.arange(self.n_sets).unsqueeze(-1), self.members] = True
        return mask.to(v.device)[torch.where(v < 0, self.n_sets, v)]  # [.., N]

    def check(self, type_idx: Tensor | int | Sequence[int]) -> Tensor:
        """``type_idx`` as a long tensor, after checking every entry lies in 0..size-1."""
        z = _as_long(type_idx, "type_idx")
        if z.numel() and (int(z.min()) < 0 or int(z.max()) >= self.size):
            raise ValueError(f"type indices must lie in [0, {self.size}), got range [{int(z.min())}, {int(z.max())}].")
        return z

    def victim_of(self, type_idx: Tensor | int) -> Tensor:
        """The victim (set) v of each type, -1 for the benign type."""
        z = self.check(type_idx)
        return torch.where(z == BENIGN, -1, (z - 1) // self.K)  # [..]

    def severity_of(self, type_idx: Tensor | int) -> Tensor:
        """The severity band k in 1..K of each type, 0 for the benign type."""
        z = self.check(type_idx)
        return torch.where(z == BENIGN, 0, (z - 1) % self.K + 1)  # [..]

    def type_index(self, victim: Tensor | int, severity: Tensor | int) -> Tensor:
        """The flat index of (victim set, severity); benign (0) wherever severity == 0, whatever the victim."""
        v, k = torch.broadcast_tensors(_as_long(victim, "victim"), _as_long(severity, "severity"))
        if k.numel() and (int(k.min()) < 0 or int(k.max()) > self.K):
            raise ValueError(f"severity must lie in 0..K = 0..{self.K}, got range [{int(k.min())}, {int(k.max())}].")
        bad = (k > 0) & ((v < 0) | (v >= self.n_sets))
        if bool(bad.any()):
            raise ValueError(f"victim must lie in 0..{self.n_sets - 1} where severity > 0, got {v[bad].tolist()}.")
        return torch.where(k == 0, BENIGN, 1 + v * self.K + (k - 1))  # [..]

    def one_hot(self, type_idx: Tensor | int) -> Tensor:
        """One-hot over Z, float."""
        return F.one_hot(self.check(type_idx), self.size).to(torch.get_default_dtype())  # [.., size]

    def factored(self, type_idx: Tensor | int) -> Tensor:
        """The authors' belief target: victim (set) one-hot ++ severity one-hot, all zeros for the benign type."""
        z = self.check(type_idx)
        victim = F.one_hot(self.victim_of(z).clamp(min=0), self.n_sets)  # [.., n_sets]
        severity = F.one_hot((self.severity_of(z) - 1).clamp(min=0), self.K)  # [.., K]
        adversarial = (z != BENIGN).unsqueeze(-1)  # [.., 1]
        return (torch.cat([victim, severity], dim=-1) * adversarial).to(torch.get_default_dtype())  # [.., n_sets + K]

    def __repr__(self) -> str:
        return f"TypeSpace(n_agents={self.n_agents}, K={self.K}, victims={self.victims}, size={self.size})"


class TypePrior:
    """The common prior p over Z (section 3), as float64 ``probs`` [size]; draws only from a passed generator.

    Drawing only from the caller's generator lets every DDP rank draw the same type schedule from an
    identically seeded generator.
    """

    def __init__(self, space: TypeSpace, probs: Tensor | Sequence[float]) -> None:
        p = torch.as_tensor(probs, dtype=torch.float64).detach().clone()
        if p.shape != (space.size,):
            raise ValueError(f"probs must have shape [{space.size}] (|Z| = 1 + C(N, m)*K), got {list(p.shape)}.")
        if not bool(torch.isfinite(p).all()) or bool((p < 0).any()):
            raise ValueError(f"probs must be finite and non-negative, got {p.tolist()}.")
        if abs(float(p.sum()) - 1.0) > 1e-6:
            raise ValueError(f"probs must sum to 1 (within 1e-6), got sum {float(p.sum())!r}.")
        self.space = space
        self.probs = p  # [size]

    @classmethod
    def uniform(cls, space: TypeSpace) -> TypePrior:
        """The paper's prior (section 5): uniform over all |Z| types, benign included."""
        return cls(space, torch.full((space.size,), 1.0 / space.size, dtype=torch.float64))

    @classmethod
    def authors(cls, space: TypeSpace, benign_prob: float = 0.2, severity_logits: Tensor | None = None) -> TypePrior:
        """The authors' adaptive prior as a per-episode marginal: benign w.p. ``benign_prob``, else v uniform (a
        victim set when m > 1) and k ~ softmax(``severity_logits``) (they use logits = -evaluation return against
        adversary k).

        Their code draws (v, k) once per rollout and makes each env adversarial w.p. 1 - benign_prob; this
        prior has the same marginal per episode but draws envs independently.
        """
        if not (math.isfinite(benign_prob) and 0.0 <= benign_prob < 1.0):
            raise ValueError(f"benign_prob must lie in [0, 1), got {benign_prob}.")
        logits = (
            torch.zeros(space.K, dtype=torch.float64)
            if severity_logits is None
            else torch.as_tensor(severity_logits, dtype=torch.float64).detach()
        )
        if logits.shape != (space.K,) or not bool(torch.isfinite(logits).all()):
            raise ValueError(f"severity_logits must be {space.K} finite numbers (one per band), got {logits.tolist()}.")
        per_victim = (1.0 - benign_prob) / space.n_sets * torch.softmax(logits, dim=0)  # [K]
        probs = torch.cat([torch.tensor([benign_prob], dtype=torch.float64), per_victim.repeat(space.n_sets)])
        return cls(space, probs)

    def sample(self, shape: int | Sequence[int], generator: torch.Generator) -> Tensor:
        """Type indices of ``shape`` drawn i.i.d. from p, all randomness from ``generator`` (a CPU generator)."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        n = math.prod(shape)
        if n == 0:
            return torch.zeros(shape, dtype=torch.long)
        return torch.multinomial(self.probs, n, replacement=True, generator=generator).reshape(shape)  # [*shape]

    def __repr__(self) -> str:
        return f"TypePrior({self.space!r}, probs={[round(x, 4) for x in self.probs.tolist()]})"
