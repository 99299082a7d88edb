"""fmlib.ot: W2, the OT plan, kinetic energy and straightness, refereed by closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import randn
from scipy.integrate import quad

import fmlib as fm
from fmlib import ot, paths


@pytest.mark.parametrize("n, d", [(1, 2), (40, 1), (60, 2), (30, 5)])
def test_w2_of_a_translate_is_the_shift_length(n, d):
    x = randn(n, d)
    c = torch.linspace(-1.5, 2.0, d, dtype=torch.float64)
    np.testing.assert_allclose(ot.w2(x, x + c), c.norm().item(), rtol=1e-9)
    assert ot.w2(x, x) == pytest.approx(0.0, abs=1e-7)  # sqrt of a round-off-sized cost


def _w2_1d(a: np.ndarray, b: np.ndarray) -> float:
    """W2 on the line: the L2 distance between the two quantile functions (sorted matching)."""
    a, b = np.sort(a), np.sort(b)
    # quantile functions are step functions jumping at k/n and k/m: integrate on the merged grid
    grid = np.union1d(np.arange(len(a) + 1) / len(a), np.arange(len(b) + 1) / len(b))
    mid = (grid[1:] + grid[:-1]) / 2
    qa = a[np.minimum((mid * len(a)).astype(int), len(a) - 1)]
    qb = b[np.minimum((mid * len(b)).astype(int), len(b) - 1)]
    return float(np.sqrt(np.sum(np.diff(grid) * (qa - qb) ** 2)))


@pytest.mark.parametrize("n, m", [(50, 50), (37, 37), (30, 45), (64, 16)])
def test_w2_in_1d_is_the_sorted_matching_formula(n, m):
    x = randn(n, 1, seed=1)
    y = 0.5 * randn(m, 1, seed=2) ** 3 + 1.0
    if n == m:  # the familiar special case: match the k-th smallest with the k-th smallest
        expected = np.sqrt(np.mean((np.sort(x[:, 0].numpy()) - np.sort(y[:, 0].numpy())) ** 2))
        np.testing.assert_allclose(_w2_1d(x[:, 0].numpy(), y[:, 0].numpy()), expected, rtol=1e-12)
    np.testing.assert_allclose(ot.w2(x, y), _w2_1d(x[:, 0].numpy(), y[:, 0].numpy()), rtol=1e-8)


def test_w2_is_symmetric_and_float32_ok():
    x, y = randn(20, 2, seed=3), randn(25, 2, seed=4)
    assert ot.w2(x, y) == pytest.approx(ot.w2(y, x), rel=1e-10)
    assert ot.w2(x.float(), y.float()) == pytest.approx(ot.w2(x, y), rel=1e-5)


@pytest.mark.parametrize("n, m", [(10, 10), (12, 20), (30, 7)])
def test_ot_plan_marginals_and_cost(n, m):
    x, y = randn(n, 2, seed=5), randn(m, 2, seed=6) + 1
    plan = ot.ot_plan(x, y)
    assert plan.shape == (n, m) and (plan >= -1e-15).all()
    np.testing.assert_allclose(plan.sum(axis=1), np.full(n, 1 / n), atol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=0), np.full(m, 1 / m), atol=1e-12)
    cost = ((x.numpy()[:, None, :] - y.numpy()[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(np.sqrt((plan * cost).sum()), ot.w2(x, y), rtol=1e-9)


def test_ot_plan_of_equal_sizes_is_a_permutation_beating_brute_force():
    """n = 6: compare with the best of all 720 permutations."""
    from itertools import permutations

    x, y = randn(6, 2, seed=7), randn(6, 2, seed=8)
    cost = ((x.numpy()[:, None, :] - y.numpy()[None, :, :]) ** 2).sum(-1)
    best = min(cost[np.arange(6), list(p)].mean() for p in permutations(range(6)))
    plan = ot.ot_plan(x, y)
    np.testing.assert_allclose(np.sort(plan.ravel())[-6:], 1 / 6, atol=1e-12)
    np.testing.assert_allclose(ot.w2(x, y) ** 2, best, rtol=1e-10)


def _straight_trajectory(x_0, x_1, ts):
    return x_0[None] + ts[:, None, None] * (x_1 - x_0)[None]


@pytest.mark.parametrize("uneven", [False, True])
def test_kinetic_energy_of_straight_constant_speed_lines(uneven):
    x_0, x_1 = randn(50, 2, seed=9), randn(50, 2, seed=10) * 2 + 3
    if uneven:
        inner = torch.sort(torch.rand(17, dtype=torch.float64)).values
        ts = torch.cat(
            [torch.zeros(1, dtype=torch.float64), inner, torch.ones(1, dtype=torch.float64)]
        )
    else:
        ts = torch.linspace(0, 1, 21, dtype=torch.float64)
    xs = _straight_trajectory(x_0, x_1, ts)
    expected = ((x_1 - x_0) ** 2).sum(1).mean().item()
    np.testing.assert_allclose(ot.kinetic_energy(xs, ts), expected, rtol=1e-10)
    # the same lines traversed backwards (t from 1 to 0) cost the same
    np.testing.assert_allclose(ot.kinetic_energy(xs.flip(0), ts.flip(0)), expected, rtol=1e-10)


def test_kinetic_energy_of_non_uniform_speed_exceeds_the_straight_one():
    """Same endpoints, speed 2t (x = x_0 + t^2 (x_1 - x_0)): energy int (2t)^2 dt = 4/3 times more."""
    x_0, x_1 = randn(20, 2, seed=11), randn(20, 2, seed=12)
    ts = torch.linspace(0, 1, 4001, dtype=torch.float64)
    xs = _straight_trajectory(x_0, x_1, ts**2)
    expected = 4 / 3 * ((x_1 - x_0) ** 2).sum(1).mean().item()
    np.testing.assert_allclose(ot.kinetic_energy(xs, ts), expected, rtol=1e-5)


def test_straightness_is_the_mean_of_each_particles_ratio():
    # particle 1: a straight unit step (ratio 1); particle 2: an L of two legs of 10 (chord
    # 10 sqrt 2 over length 20). The mean of the ratios is (1 + 1/sqrt 2) / 2; a ratio of the mean
    # chord to the mean length would give (1 + 10 sqrt 2) / 21.
    xs = torch.tensor(
        [[[0.0, 0.0], [0.0, 0.0]], [[0.5, 0.0], [10.0, 0.0]], [[1.0, 0.0], [10.0, 10.0]]],
        dtype=torch.float64,
    )  # (K = 3, B = 2, D = 2)
    assert ot.straightness(xs) == pytest.approx((1 + 1 / math.sqrt(2)) / 2, rel=1e-12)


@pytest.mark.slow
def test_straightness_of_lines_and_of_the_curved_path():
    x_0, x_1 = randn(30, 2, seed=13), randn(30, 2, seed=14)
    ts = torch.linspace(0, 1, 11, dtype=torch.float64)
    assert ot.straightness(_straight_trajectory(x_0, x_1, ts)) == pytest.approx(1.0, abs=1e-12)
    assert ot.straightness(_straight_trajectory(x_0, x_1, ts**3)) == pytest.approx(1.0, abs=1e-12)

    a = 1.0
    ts = torch.linspace(0, 1, 2001, dtype=torch.float64)
    path = paths.CurvedPath(a)
    xs = torch.stack([path.sample(x_0, x_1, float(t)).x_t for t in ts])
    s = ot.straightness(xs)
    # chord |d| over arc length int_0^1 sqrt(|d|^2 + a^2 (1 - 2t)^2) dt
    d = (x_1 - x_0).norm(dim=1).numpy()
    ref = np.mean(
        [di / quad(lambda t, di=di: np.sqrt(di**2 + a**2 * (1 - 2 * t) ** 2), 0, 1)[0] for di in d]
    )
    assert s < 1
    np.testing.assert_allclose(s, ref, rtol=1e-5)


def test_w2_noise_floor_is_positive_and_shrinks_with_n():
    sampler = lambda n, g: torch.randn(n, 2, generator=g)
    small = ot.w2_noise_floor(sampler, n=50, draws=3)
    large = ot.w2_noise_floor(sampler, n=400, draws=3)
    assert 0 < large < small


def test_w2_report_against_a_shifted_sampler():
    target = lambda n, g: torch.randn(n, 2, generator=g)
    shifted = lambda n, g: torch.randn(n, 2, generator=g) + torch.tensor([3.0, 4.0])
    report = ot.w2_report(shifted, target, n=200, draws=3)
    assert report.w2 == pytest.approx(5.0, rel=0.05)
    assert report.ratio == pytest.approx(report.w2 / report.floor)
    assert "noise floor" in str(report)
    # the median over draws is the median of W2 of the draws, recomputed here with the same seeds
    vals = [
        ot.w2(
            shifted(200, torch.Generator().manual_seed(2 * k)),
            target(200, torch.Generator().manual_seed(2 * k + 1 + 10_000)),
        )
        for k in range(3)
    ]
    assert ot.w2_draws(shifted, target, n=200, draws=3) == pytest.approx(vals, rel=1e-12)
    assert ot.w2_median(shifted, target, n=200, draws=3) == pytest.approx(
        float(np.median(vals)), rel=1e-12
    )


def test_trajectory_argument_errors():
    xs = torch.zeros(5, 3, 2)
    with pytest.raises(ValueError, match="ts must"):
        ot.kinetic_energy(xs, torch.zeros(4))
    with pytest.raises(ValueError, match="xs must"):
        ot.kinetic_energy(torch.zeros(5, 3), torch.zeros(5))
    with pytest.raises(ValueError, match="xs must"):
        ot.straightness(torch.zeros(5))


def test_noise_floor_with_reference_is_the_w2_between_reference_and_target():
    from fmlib import data

    target = data.two_moons
    reference = lambda n, g: data.two_moons(n, g, stratified=False)
    expected = ot.w2_median(reference, target, n=300, draws=3, seed=7)
    assert ot.w2_noise_floor(target, n=300, draws=3, seed=7, reference=reference) == expected
    # make_moons is stratified: two of its samples are closer than an i.i.d. sample comes
    assert ot.w2_noise_floor(target, n=300, draws=3, seed=7) < expected


def test_conditional_energy_closed_forms():
    gen = torch.Generator().manual_seed(3)
    x_0, x_1 = torch.randn(50, 2, generator=gen), torch.randn(50, 2, generator=gen) + 2.0
    squared = float((x_1 - x_0).pow(2).sum(1).mean())
    # straight line at constant speed: u_t = x_1 - x_0 for all t
    assert ot.conditional_energy(paths.linear_path(), x_0, x_1) == pytest.approx(squared, rel=1e-5)
    # the curved path adds a t(1 - t) n_perp bend: + a^2 int (1 - 2t)^2 dt = a^2 / 3
    bend = 0.7
    assert ot.conditional_energy(paths.CurvedPath(bend), x_0, x_1) == pytest.approx(
        squared + bend**2 / 3, rel=1e-5
    )
    assert ot.conditional_energy(paths.vp_path(), x_0, x_1) == float("inf")
    with pytest.raises(ValueError, match="nodes"):
        ot.conditional_energy(paths.linear_path(), x_0, x_1, nodes=0)


def test_crossing_fraction_of_hand_made_polylines():
    star = np.array([[[-1, 0], [1, 0]], [[0, -1], [0, 1]], [[-1, -1], [1, 1]]], dtype=float)
    assert ot.crossing_fraction(star) == 1.0  # three lines through the origin: all 3 pairs cross
    apart = np.array([[[0, 0], [1, 0]], [[0, 1], [1, 1]], [[0, 2], [1, 3]]], dtype=float)
    assert ot.crossing_fraction(torch.tensor(apart)) == 0.0
    touching = np.array([[[0, 0], [1, 0]], [[1, 0], [2, 1]]], dtype=float)  # shared end point
    assert ot.crossing_fraction(touching) == 0.0
    with pytest.raises(ValueError, match="polylines"):
        ot.crossing_fraction(np.zeros((3, 2)))


# ---------- time in a region (Section 6.5.1) -----------------------------------------------------
# Time spent in a region (fmlib.ot.time_in_region), against closed forms. Section 6.5.1.


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
