"""The type space Z (eq. 2): index round trips, one-hot and factored targets, the priors and their sampling."""

from __future__ import annotations

import pytest
import torch

from batpal.game import BENIGN, TypePrior, TypeSpace

N, K = 3, 4


def test_size_and_index_convention():
    space = TypeSpace(N, K)
    assert space.size == 1 + N * K == 13
    assert int(space.type_index(0, 1)) == 1
    assert int(space.type_index(1, 1)) == 1 + K  # (victim 1, severity 1)
    assert int(space.type_index(2, 4)) == 1 + 2 * K + 3 == 12
    assert int(space.type_index(2, 0)) == BENIGN  # severity 0 is benign whatever the victim
    assert int(space.victim_of(0)) == -1 and int(space.severity_of(0)) == 0


def test_round_trip_over_all_of_z():
    space = TypeSpace(N, K)
    z = torch.arange(space.size)  # [size]
    v, k = space.victim_of(z), space.severity_of(z)
    assert torch.equal(space.type_index(v, k), z)
    assert set(zip(v[1:].tolist(), k[1:].tolist(), strict=True)) == {(a, b) for a in range(N) for b in range(1, K + 1)}
    assert torch.equal(space.one_hot(z), torch.eye(space.size))
    batched = z.reshape(1, -1).expand(2, -1)  # [2, size]
    assert space.victim_of(batched).shape == (2, space.size)


def test_factored_target():
    space = TypeSpace(N, K)
    f = space.factored(torch.tensor([0, int(space.type_index(1, 3))]))  # [2, N + K]
    assert f.shape == (2, N + K)
    assert torch.equal(f[0], torch.zeros(N + K))
    expected = torch.zeros(N + K)
    expected[1] = 1.0  # victim 1
    expected[N + 2] = 1.0  # severity 3
    assert torch.equal(f[1], expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_agents": 3, "K": 0}, "K must be >= 1"),
        ({"n_agents": 1, "K": 2}, "n_agents must be >= 2"),
        ({"n_agents": 3, "K": 2, "victims": 3}, "victims must satisfy"),
        ({"n_agents": 3, "K": 2, "victims": 0}, "victims must satisfy"),
    ],
)
def test_bad_space(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TypeSpace(**kwargs)


def test_bad_indices():
    space = TypeSpace(N, K)
    with pytest.raises(ValueError, match="type indices must lie"):
        space.victim_of(torch.tensor([space.size]))
    with pytest.raises(ValueError, match="integers"):
        space.one_hot(torch.tensor([1.0]))
    with pytest.raises(ValueError, match="severity must lie"):
        space.type_index(0, K + 1)
    with pytest.raises(ValueError, match="victim must lie"):
        space.type_index(N, 1)


def test_uniform_prior_sums_to_one_and_sampling_matches():
    space = TypeSpace(N, K)
    prior = TypePrior.uniform(space)
    assert prior.probs.shape == (space.size,)
    assert abs(float(prior.probs.sum()) - 1.0) < 1e-12
    n = 26_000
    counts = torch.bincount(prior.sample(n, torch.Generator().manual_seed(0)), minlength=space.size).double()
    expected = n * prior.probs
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 40.0  # df = 12: the 99.9% quantile is about 32.9


def test_same_seed_same_schedule():
    prior = TypePrior.uniform(TypeSpace(N, K))
    a = prior.sample((8, 5), torch.Generator().manual_seed(7))
    b = prior.sample((8, 5), torch.Generator().manual_seed(7))
    c = prior.sample((8, 5), torch.Generator().manual_seed(8))
    assert a.shape == (8, 5) and a.dtype == torch.long
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert prior.sample(0, torch.Generator()).shape == (0,)


def test_authors_prior():
    space = TypeSpace(N, K)
    logits = torch.tensor([0.0, 1.0, 2.0, 3.0])
    prior = TypePrior.authors(space, benign_prob=0.2, severity_logits=logits)
    p = prior.probs
    assert abs(float(p[0]) - 0.2) < 1e-12 and abs(float(p.sum()) - 1.0) < 1e-12
    sev = torch.softmax(logits.double(), 0)
    for v in range(N):
        idx = space.type_index(v, torch.arange(1, K + 1))  # [K]
        torch.testing.assert_close(p[idx], 0.8 / N * sev)
    flat = TypePrior.authors(space)  # no logits: severities uniform
    torch.testing.assert_close(flat.probs[1:], torch.full((N * K,), 0.8 / (N * K), dtype=torch.float64))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: TypePrior(s, torch.full((s.size,), 0.1)), "sum to 1"),
        (lambda s: TypePrior(s, torch.tensor([1.5, -0.5] + [0.0] * (s.size - 2))), "non-negative"),
        (lambda s: TypePrior(s, torch.ones(3) / 3), "shape"),
        (lambda s: TypePrior.authors(s, benign_prob=1.0), r"benign_prob must lie in \[0, 1\)"),
        (lambda s: TypePrior.authors(s, severity_logits=torch.zeros(K + 1)), "severity_logits"),
    ],
)
def test_bad_prior(make, message):
    with pytest.raises(ValueError, match=message):
        make(TypeSpace(N, K))
