"""fmlib.data: the source N(0, I) and the 2-D toy targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import generator
from scipy.stats import multivariate_normal
from sklearn.datasets import make_moons

import fmlib as fm
from fmlib import data
from fmlib.data import moons_moments

SAMPLERS = {
    "moons": data.two_moons,
    "8gaussians": data.eight_gaussians,
    "checkerboard": data.checkerboard,
    "circles": data.circles,
    "gaussian-2d": lambda n, g: data.StandardGaussian(2).sample(n, g),
    "gaussian-5d": lambda n, g: data.StandardGaussian(5).sample(n, g),
}


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("n", [1, 7, 256])
def test_shape_and_dtype(name, n):
    x = SAMPLERS[name](n, generator(0))
    dim = 5 if name == "gaussian-5d" else 2
    assert isinstance(x, torch.Tensor)
    assert x.shape == (n, dim)
    assert x.dtype == torch.float32
    assert torch.isfinite(x).all()


@pytest.mark.parametrize("name", SAMPLERS)
def test_same_seed_same_points_other_seed_other_points(name):
    a = SAMPLERS[name](300, generator(7))
    b = SAMPLERS[name](300, generator(7))
    c = SAMPLERS[name](300, generator(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("name", sorted(data.DATASETS))
def test_sample_data_dispatches_by_name(name):
    assert torch.equal(
        data.sample_data(name, 50, generator(3)), data.DATASETS[name](50, generator(3))
    )


def test_sample_data_unknown_name():
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.sample_data("spirals", 10)


@pytest.mark.parametrize(
    "sampler, n_classes",
    [(data.two_moons, 2), (data.eight_gaussians, 8), (data.circles, 2)],
)
def test_labelled_samples(sampler, n_classes):
    out = sampler(2000, generator(1), labels=True)
    assert isinstance(out, data.LabeledSample)
    assert out.x.shape == (2000, 2) and out.y.shape == (2000,)
    assert out.y.dtype == torch.int64
    assert set(out.y.unique().tolist()) == set(range(n_classes))
    # the points are the same as without labels
    assert torch.equal(out.x, sampler(2000, generator(1)))


@pytest.mark.parametrize("noise", [0.0, 0.05, 0.2])
def test_moons_moments_match_sklearn_empirical(noise):
    """The closed-form standardisation constants against a large sklearn sample."""
    xy, _ = make_moons(n_samples=400_000, noise=noise, random_state=0)
    mean, std = data.moons_moments(noise)
    np.testing.assert_allclose(mean.numpy(), xy.mean(axis=0), atol=4e-3)
    np.testing.assert_allclose(std.numpy(), xy.std(axis=0), rtol=4e-3)


def test_two_moons_is_standardised_and_labelled_by_moon():
    out = data.two_moons(200_000, generator(0), noise=0.05, labels=True)
    np.testing.assert_allclose(out.x.mean(0).numpy(), [0.0, 0.0], atol=6e-3)
    np.testing.assert_allclose(out.x.std(0).numpy(), [1.0, 1.0], atol=6e-3)
    # Undo the standardisation: label 0 is the outer moon (cos s, sin s), |p| ~ 1 with y >= 0.
    mean, std = data.moons_moments(0.05)
    raw = out.x * std + mean
    outer = raw[out.y == 0]
    inner = raw[out.y == 1] - torch.tensor([1.0, 0.5])
    np.testing.assert_allclose(outer.norm(dim=1).mean().item(), 1.0, atol=0.01)
    np.testing.assert_allclose(inner.norm(dim=1).mean().item(), 1.0, atol=0.01)
    assert outer[:, 1].mean() > 0.5 and inner[:, 1].mean() < -0.5


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_standard_gaussian_log_prob_matches_scipy(dim):
    x = torch.randn(64, dim, dtype=torch.float64) * 2
    ours = data.StandardGaussian(dim).log_prob(x).numpy()
    ref = multivariate_normal(mean=np.zeros(dim), cov=np.eye(dim)).logpdf(x.numpy())
    np.testing.assert_allclose(ours, np.atleast_1d(ref), rtol=1e-12)


def test_standard_gaussian_sample_moments():
    x = data.StandardGaussian(3).sample(100_000, generator(0)).double()
    np.testing.assert_allclose(x.mean(0).numpy(), 0, atol=0.02)
    np.testing.assert_allclose(torch.cov(x.T).numpy(), np.eye(3), atol=0.02)


def test_eight_gaussians_centres():
    out = data.eight_gaussians(8000, generator(0), radius=2.0, std=0.2, labels=True)
    for k in range(8):
        centre = 2.0 * np.array([math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)])
        pts = out.x[out.y == k].numpy()
        np.testing.assert_allclose(pts.mean(0), centre, atol=0.05)
        np.testing.assert_allclose(pts.std(0), [0.2, 0.2], atol=0.03)


def test_checkerboard_points_lie_on_dark_squares():
    squares = 4
    x = data.checkerboard(5000, generator(0), squares=squares).numpy()
    assert (x >= -2).all() and (x <= 2).all()
    cell = np.floor((x + 2) / (4 / squares)).astype(int)
    assert ((cell.sum(axis=1) % 2) == 0).all()


def test_circles_radii():
    out = data.circles(4000, generator(0), radii=(1.0, 2.0), noise=0.0, labels=True)
    r = out.x.norm(dim=1)
    np.testing.assert_allclose(r[out.y == 0].numpy(), 1.0, atol=1e-5)
    np.testing.assert_allclose(r[out.y == 1].numpy(), 2.0, atol=1e-5)


def _distance_to_moons(xy: np.ndarray) -> np.ndarray:
    """Distance of raw (unstandardised) points to the nearer of the two noiseless moon arcs."""
    s = np.linspace(0, np.pi, 2001)
    arcs = np.concatenate(
        [np.stack([np.cos(s), np.sin(s)], 1), np.stack([1 - np.cos(s), 0.5 - np.sin(s)], 1)]
    )
    return np.sqrt(((xy[:, None, :] - arcs[None]) ** 2).sum(-1)).min(1)


@pytest.mark.slow
def test_iid_moons_follow_the_same_law_as_make_moons():
    # Same law, drawn i.i.d.: same moments (those of sklearn's sampler) and the same noise profile
    # around the arcs; only the even spacing and the exact half-and-half split are gone.
    n = 200_000
    x = data.two_moons(n, torch.Generator().manual_seed(3), stratified=False, labels=True)
    xy_ref, _ = make_moons(n_samples=n, noise=0.05, random_state=3)
    mean, std = data.moons_moments(0.05)
    raw = (x.x * std + mean).numpy()
    np.testing.assert_allclose(raw.mean(0), xy_ref.mean(0), atol=0.01)
    np.testing.assert_allclose(raw.std(0), xy_ref.std(0), atol=0.01)
    assert abs(x.y.float().mean().item() - 0.5) < 0.01
    near_ours = _distance_to_moons(raw[:3000])
    near_ref = _distance_to_moons(xy_ref[:3000])
    assert abs(np.median(near_ours) - np.median(near_ref)) < 0.005


def test_stratified_moons_split_exactly_in_half_iid_do_not():
    y_strat = data.two_moons(1001, torch.Generator().manual_seed(0), labels=True).y
    assert y_strat.sum().item() in (500, 501)
    counts = [
        data.two_moons(1000, torch.Generator().manual_seed(s), stratified=False, labels=True)
        .y.sum()
        .item()
        for s in range(20)
    ]
    assert len(set(counts)) > 5  # binomial fluctuation


# ---------- the two-moons gap (Section 6.5.1) ----------------------------------------------------
# The two-moons gap (fmlib.data.moons_distance, moons_gap), against closed forms and a
# brute-force referee. Section 6.5.1.


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
