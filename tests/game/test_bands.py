"""Severity bands (section 3.1) and severity (eq. 3) against numbers worked out by hand."""

from __future__ import annotations

import json

import pytest
import torch

from batpal.game import Bands

VMAX, VMIN, K, N = -50.0, -130.0, 4, 3


def test_edges_by_hand():
    bands = Bands(VMAX, VMIN, K, N)
    assert bands.interval(0, 1) == (-70.0, -50.0)  # mildest band next to Vmax
    assert bands.interval(0, 2) == (-90.0, -70.0)
    assert bands.interval(2, 4) == (-130.0, -110.0)
    k = torch.arange(1, K + 1)  # [K]
    torch.testing.assert_close(bands.low(torch.zeros_like(k), k), torch.tensor([-70.0, -90.0, -110.0, -130.0]))
    torch.testing.assert_close(bands.high(torch.ones_like(k), k), torch.tensor([-50.0, -70.0, -90.0, -110.0]))


def test_per_victim_vmin():
    bands = Bands(VMAX, [-130.0, -90.0, -54.0], K, N)
    v = torch.tensor([0, 1, 2])
    k = torch.tensor([4, 1, 2])
    torch.testing.assert_close(bands.low(v, k), torch.tensor([-130.0, -60.0, -52.0]))
    torch.testing.assert_close(bands.high(v, k), torch.tensor([-110.0, -50.0, -51.0]))
    assert bands.to_dict()["bands"][1][0] == [-60.0, -50.0]
    json.dumps(bands.to_dict())


def test_severity_eq3():
    bands = Bands(VMAX, [-130.0, -90.0, -54.0], K, N)
    values = torch.tensor([-50.0, -130.0, -70.0, -40.0, -90.0])
    victims = torch.tensor([0, 0, 0, 0, 1])
    # (Vmax - V) / (Vmax - Vmin^v): 0, 1, 20/80, -10/80 (above Vmax: negative, not clipped), 40/40
    torch.testing.assert_close(bands.severity(values, victims), torch.tensor([0.0, 1.0, 0.25, -0.125, 1.0]))


def test_band_of():
    bands = Bands(VMAX, VMIN, K, N)
    values = torch.tensor([-50.0, -60.0, -70.0, -70.5, -110.0, -129.0, -130.0, -200.0, 0.0])
    #                     eta 0,  1/8,  1/4,   >1/4,   3/4,    >3/4,   1,      >1,     <0
    expected = torch.tensor([1, 1, 1, 2, 3, 4, 4, 4, 1])
    assert torch.equal(bands.band_of(values, torch.zeros(9, dtype=torch.long)), expected)
    k = torch.arange(1, K + 1)
    for v in range(N):  # a band's low edge lies in that band: eta = k/K is in ((k-1)/K, k/K]
        vv = torch.full_like(k, v)
        assert torch.equal(bands.band_of(bands.low(vv, k), vv), k)
    odd = Bands(-47.3, [-189.1, -100.7, -60.0], 3, N)  # edges that are not exact in binary
    for v in range(N):
        vv = torch.full((3,), v)
        assert torch.equal(odd.band_of(odd.low(vv, torch.arange(1, 4)), vv), torch.arange(1, 4))
    with pytest.raises(ValueError, match="finite"):
        bands.band_of(torch.tensor([float("nan")]), torch.tensor([0]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-50.0, -50.0, 4, 3), r"Vmax > Vmin\^v .* victim 0"),
        ((-50.0, [-130.0, -40.0, -90.0], 4, 3), r"Vmax > Vmin\^v .* victim 1"),
        ((-50.0, -130.0, 0, 3), "K must be >= 1"),
        ((-50.0, [-130.0, -90.0], 4, 3), "one number per victim"),
        ((float("inf"), -130.0, 4, 3), "finite"),
        ((-50.0, float("nan"), 4, 3), "finite"),
    ],
)
def test_bad_bands(args, message):
    with pytest.raises(ValueError, match=message):
        Bands(*args)


def test_bad_band_queries():
    bands = Bands(VMAX, VMIN, K, N)
    with pytest.raises(ValueError, match="severity must lie"):
        bands.low(0, 0)
    with pytest.raises(ValueError, match="victim must lie"):
        bands.high(N, 1)
