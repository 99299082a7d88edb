"""The two-moons gap (fmlib.data.moons_distance, moons_gap) and time spent in a region
(fmlib.ot.time_in_region), against closed forms and a brute-force referee. Section 6.5.1."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import fmlib as fm
from fmlib.data import moons_moments


def standardise(raw: torch.Tensor, noise: float = 0.05) -> torch.Tensor:
    mean, std = moons_moments(noise)
    return (raw - mean) / std


def brute_force_distance(raw: np.ndarray) -> np.ndarray:
    """Distance to 200 001 points on each moon: an independent referee for moons_distance."""
    s = np.linspace(0.0, math.pi, 200_001)
    arcs = np.concatenate(
        [np.stack([np.cos(s), np.sin(s)], 1), np.stack([1 - np.cos(s), 0.5 - np.sin(s)], 1)]
    )
    return np.array([np.sqrt(((arcs - p) ** 2).sum(1)).min() for p in raw])


def test_moons_distance_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    corner, size = torch.tensor([-1.5, -1.0]), torch.tensor([4.0, 3.0])
    raw = corner + size * torch.rand(300, 2, generator=g, dtype=torch.float64)
    got = fm.data.moons_distance(standardise(raw.float()).double()).numpy()
    np.testing.assert_allclose(got, brute_force_distance(raw.numpy()), atol=1e-4)


def test_moons_distance_is_zero_on_the_moons():
    s = torch.linspace(0, math.pi, 50, dtype=torch.float64)
    outer = torch.stack([s.cos(), s.sin()], 1)
    inner = torch.stack([1 - s.cos(), 0.5 - s.sin()], 1)
    for arc in (outer, inner):
        dist = fm.data.moons_distance(standardise(arc.float()).double())
        assert float(dist.max()) < 1e-5


@pytest.mark.parametrize(
    "raw, expected",
    [
        ((0.5, 0.25), True),  # the middle of the channel: 0.44 from both moons
        ((-0.4, 0.4), True),  # inside the outer moon's half-disc, far from both
        ((1.4, 0.1), True),  # inside the inner moon's half-disc, far from both
        ((0.5, 0.75), False),  # 0.099 from the outer moon: inside its band of 3 x 0.05
        ((0.0, 1.0), False),  # on the outer moon
        ((-1.5, -1.0), False),  # far from both, but outside the region the moons enclose
        ((0.5, -0.6), False),  # below the inner moon: outside
    ],
)
def test_moons_gap_points(raw, expected):
    x = standardise(torch.tensor([raw], dtype=torch.float32))
    assert bool(fm.data.moons_gap(x)[0]) is expected


def test_moons_gap_width_and_data_share():
    g = torch.Generator().manual_seed(1)
    x = fm.two_moons(20_000, g)
    # the band of 3 noise widths around the moons holds all but ~0.27 % of the data (two-sided normal tail)
    share = float(fm.data.moons_gap(x).float().mean())
    assert share < 0.0027 + 4 * math.sqrt(0.0027 / 20_000)
    wide, narrow = fm.data.moons_gap(x, width=1.0), fm.data.moons_gap(x, width=3.0)
    assert bool((narrow <= wide).all()) and int(wide.sum()) > int(narrow.sum())


def test_moons_gap_bad_input():
    with pytest.raises(TypeError):
        fm.data.moons_gap([[0.0, 0.0]])
    with pytest.raises(ValueError, match="D = 2"):
        fm.data.moons_gap(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="width"):
        fm.data.moons_gap(torch.zeros(3, 2), width=-1.0)


def right_half(x: torch.Tensor) -> torch.Tensor:
    return x[:, 0] > 0


@pytest.mark.parametrize("k", [11, 101, 1001])
def test_time_in_region_straight_line(k):
    """x(t) = -1 + 2 t a from t = 0 to 1 (a = 0.3 .. 0.9) enters x > 0 at t = 1 / (2a) ..."""
    ts = torch.linspace(0, 1, k, dtype=torch.float64)
    a = torch.tensor([0.6, 0.75, 1.0, 2.0], dtype=torch.float64)
    xs = torch.zeros(k, 4, 2, dtype=torch.float64)
    xs[:, :, 0] = -1 + 2 * ts[:, None] * a[None, :]
    expected = float((1 - (1 / (2 * a)).clamp(max=1)).mean())  # time after the crossing
    assert fm.ot.time_in_region(xs, ts, right_half) == pytest.approx(expected, abs=2 / (k - 1))


def test_time_in_region_uneven_times_and_constant_particles():
    ts = torch.tensor([0.0, 0.1, 0.5, 1.0])
    xs = torch.zeros(4, 3, 2)
    xs[:, 0, 0] = 1.0  # always inside
    xs[:, 1, 0] = -1.0  # never inside
    # inside from the third time on: trapezoid 0.4 / 2 + 0.5
    xs[:, 2, 0] = torch.tensor([-1.0, -1.0, 1.0, 1.0])
    assert fm.ot.time_in_region(xs, ts, right_half) == pytest.approx((1 + 0 + 0.7) / 3)
    # backwards in time (t from 1 to 0) gives the same fraction
    assert fm.ot.time_in_region(xs.flip(0), ts.flip(0), right_half) == pytest.approx((1 + 0.7) / 3)


def test_time_in_region_bad_input():
    xs, ts = torch.zeros(5, 3, 2), torch.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="K, B, D"):
        fm.ot.time_in_region(xs[0], ts, right_half)
    with pytest.raises(ValueError, match="ts"):
        fm.ot.time_in_region(xs, ts[:3], right_half)
    with pytest.raises(TypeError, match="inside"):
        fm.ot.time_in_region(xs, ts, "gap")
    with pytest.raises(ValueError, match="inside must return"):
        fm.ot.time_in_region(xs, ts, lambda x: x[:, :1] > 0)
    with pytest.raises(ValueError, match="two times"):
        fm.ot.time_in_region(xs[:1], ts[:1], right_half)
