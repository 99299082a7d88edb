"""Section 6.6's additions: the digits loader, the Fréchet distance, nearest distances, the image grid.

Referees: scikit-learn's own ``load_digits`` and ``NearestNeighbors``, scipy's ``sqrtm`` and closed
forms for Gaussians with commuting covariances.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestNeighbors

import fmlib as fm
from fmlib import ot


@pytest.fixture(scope="module")
def split():
    return fm.data.digits()


@pytest.fixture(scope="module")
def raw():
    return load_digits()


# ---------------------------------------------------------------- the loader


def test_digits_split_sizes_classes_and_types(split):
    assert split.train.x.shape == (1297, 64) and split.held_out.x.shape == (500, 64)
    assert split.train.x.dtype == torch.float32 and split.train.y.dtype == torch.long
    # stratified: each class held out in proportion to its size (174 to 183 of 1797), about 50
    counts = torch.bincount(split.held_out.y).tolist()
    assert len(counts) == 10 and min(counts) >= 48 and max(counts) <= 52
    assert torch.bincount(split.train.y, minlength=10).min() >= 120


def test_digits_scaling_is_the_training_splits(split):
    x = split.train.x.double()
    np.testing.assert_allclose(x.mean(0).numpy(), 0.0, atol=1e-5)
    # one scale for all pixels: the mean per-pixel variance (population variance) is one
    assert x.var(0, unbiased=False).mean().item() == pytest.approx(1.0, rel=1e-5)
    # the held-out split uses the training moments, so its moments are only close
    assert abs(split.held_out.x.double().var(0).mean().item() - 1.0) < 0.1


def test_digits_to_pixels_gives_back_sklearns_images(split, raw):
    """The two splits, mapped back, are exactly scikit-learn's 1797 images with their labels."""
    back = torch.cat([split.to_pixels(split.train.x), split.to_pixels(split.held_out.x)])
    assert back.shape == (1797, 8, 8)
    levels = back.reshape(1797, 64).double().numpy()
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    ours = np.column_stack([np.round(levels), torch.cat([split.train.y, split.held_out.y]).numpy()])
    theirs = np.column_stack([raw.data, raw.target])
    np.testing.assert_array_equal(
        ours[np.lexsort(ours.T[::-1])], theirs[np.lexsort(theirs.T[::-1])]
    )


def test_digits_other_split_and_bad_input(split):
    other = fm.data.digits(held_out=300, seed=1)
    assert other.held_out.x.shape == (300, 64) and torch.bincount(other.held_out.y).min() >= 29
    assert not torch.equal(other.train.x[:5], split.train.x[:5])
    with pytest.raises(ValueError, match="held_out"):
        fm.data.digits(held_out=5)
    with pytest.raises(TypeError, match="held_out"):
        fm.data.digits(held_out=0.5)
    with pytest.raises(TypeError, match="seed"):
        fm.data.digits(seed="0")
    with pytest.raises(ValueError, match="64"):
        split.to_pixels(torch.zeros(3, 2))


# ---------------------------------------------------------------- Fréchet distance


def _random_spd(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _frechet_scipy(m_a, c_a, m_b, c_b) -> float:
    """The textbook formula with scipy's general matrix square root of C_a C_b (FID's code)."""
    covmean = scipy.linalg.sqrtm(c_a @ c_b).real
    return float(((m_a - m_b) ** 2).sum() + np.trace(c_a + c_b - 2 * covmean))


@pytest.mark.parametrize("d", [1, 2, 8, 64])
def test_frechet_gaussians_matches_scipys_sqrtm(d):
    rng = np.random.default_rng(d)
    m_a, m_b = rng.normal(size=d), rng.normal(size=d)
    c_a, c_b = _random_spd(d, 10 + d), _random_spd(d, 20 + d)
    expected = _frechet_scipy(m_a, c_a, m_b, c_b)
    assert ot.frechet_gaussians(m_a, c_a, m_b, c_b) == pytest.approx(expected, rel=1e-8)


def test_frechet_gaussians_commuting_covariances_closed_form():
    """Diagonal covariances: |m_a - m_b|^2 + sum_i (s_a,i - s_b,i)^2, the W2^2 of independent axes."""
    s_a, s_b = np.array([0.5, 1.0, 2.0, 3.0]), np.array([1.5, 1.0, 0.25, 3.0])
    m_a, m_b = np.array([0.0, 1.0, -1.0, 2.0]), np.array([1.0, 1.0, 1.0, 0.0])
    expected = ((m_a - m_b) ** 2).sum() + ((s_a - s_b) ** 2).sum()
    value = ot.frechet_gaussians(m_a, np.diag(s_a**2), m_b, np.diag(s_b**2))
    assert value == pytest.approx(expected, rel=1e-12)
    # a rotation of both leaves it unchanged
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))
    rotated = ot.frechet_gaussians(
        q @ m_a, q @ np.diag(s_a**2) @ q.T, q @ m_b, q @ np.diag(s_b**2) @ q.T
    )
    assert rotated == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_samples():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 6, generator=g, dtype=torch.float64) @ torch.randn(
        6, 6, generator=g, dtype=torch.float64
    )
    shift = torch.linspace(-1.0, 2.0, 6, dtype=torch.float64)
    # a translate has the same covariance: only the mean term is left
    assert ot.frechet_distance(x, x + shift) == pytest.approx(shift.pow(2).sum().item(), rel=1e-6)
    y = 0.5 * torch.randn(300, 6, generator=g, dtype=torch.float64)
    a, b = x.numpy(), y.numpy()
    expected = _frechet_scipy(a.mean(0), np.cov(a.T), b.mean(0), np.cov(b.T))
    assert ot.frechet_distance(x, y) == pytest.approx(expected, rel=1e-7)
    assert ot.frechet_distance(x.float(), y.float()) == pytest.approx(expected, rel=1e-4)


def test_frechet_bad_input():
    with pytest.raises(ValueError, match="same D"):
        ot.frechet_distance(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(ValueError, match="at least 2"):
        ot.frechet_distance(torch.randn(1, 3), torch.randn(10, 3))
    with pytest.raises(TypeError):
        ot.frechet_distance(np.zeros((10, 3)), torch.randn(10, 3))
    with pytest.raises(ValueError, match="covariances"):
        ot.frechet_gaussians(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


# ---------------------------------------------------------------- nearest distances


def test_nearest_distance_matches_sklearn():
    g = torch.Generator().manual_seed(1)
    x, ref = torch.randn(50, 64, generator=g), torch.randn(200, 64, generator=g)
    expected = NearestNeighbors(n_neighbors=1).fit(ref.numpy()).kneighbors(x.numpy())[0][:, 0]
    got = ot.nearest_distance(x, ref)
    assert got.shape == (50,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    assert ot.nearest_distance(ref[:7], ref).abs().max().item() < 1e-6  # a member: distance 0
    with pytest.raises(ValueError, match="64"):
        ot.nearest_distance(x, torch.randn(5, 3))


# ---------------------------------------------------------------- the conditional model in 64-D


def test_conditional_mlp_in_64_d_and_guidance_with_per_sample_labels():
    torch.manual_seed(0)
    model = fm.VectorFieldMLP(64, hidden=32, num_classes=10, time_dim=16)
    x, labels = torch.randn(20, 64), torch.arange(20) % 10
    assert model(x, 0.3, labels).shape == (20, 64)
    with torch.no_grad():
        w = 2.5
        null = torch.full((20,), model.null_class)
        expected = model(x, 0.3, null) + w * (model(x, 0.3, labels) - model(x, 0.3, null))
        torch.testing.assert_close(fm.models.guided_field(model, labels, w)(x, 0.3), expected)
        # a per-sample label vector gives each row its own class's field
        for c in (0, 7):
            rows = labels == c
            single = fm.models.guided_field(model, c, w)(x[rows], 0.3)
            torch.testing.assert_close(single, expected[rows])
    with pytest.raises(ValueError, match="64"):
        model(torch.randn(4, 2), 0.3)
    with pytest.raises(ValueError, match=r"\[0, 10\]"):
        model(x, 0.3, torch.full((20,), 11))


# ---------------------------------------------------------------- the image grid


def test_draw_image_grid_tiles_with_gutters():
    images = np.arange(2 * 3 * 8 * 8, dtype=float).reshape(2, 3, 8, 8) % 17
    fig, ax = plt.subplots()
    im = fm.plotting.draw_image_grid(ax, images, row_labels=["a", "b"])
    canvas = im.get_array()
    assert canvas.shape == (2 * 9 + 1, 3 * 9 + 1)
    np.testing.assert_array_equal(canvas[1:9, 1 + 9 : 9 + 9], images[0, 1])
    np.testing.assert_array_equal(canvas[1 + 9 : 9 + 9, 1 + 18 : 9 + 18], images[1, 2])
    assert canvas[0].max() == 0 and canvas[:, 9].max() == 0  # white gutters
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="rows, cols"):
        fm.plotting.draw_image_grid(ax, images[0])
    with pytest.raises(ValueError, match="row_labels"):
        fm.plotting.draw_image_grid(ax, images, row_labels=["a"])
