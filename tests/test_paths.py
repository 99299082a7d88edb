"""fmlib.paths: conditional paths x_t | (x_0, x_1) and their velocities u_t."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import AFFINE_PATHS, PATHS, affine_coefficients

from fmlib import paths

SHAPES = [(1, 2), (5, 2), (4, 1), (3, 3), (6, 7)]
TIMES = [0.05, 0.2, 0.5, 0.8, 0.95]


# paths x shapes; CurvedPath only in 2-D (its error on other D is tested separately)
PATH_SHAPES = [(n, s) for n in PATHS for s in SHAPES if not (n.startswith("curved") and s[1] != 2)]


def _points(shape, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=dtype), 2 + torch.randn(
        shape, generator=g, dtype=dtype
    )


@pytest.mark.parametrize("name, shape", PATH_SHAPES)
def test_u_t_is_time_derivative_of_x_t(name, shape):
    """Central finite differences of x_t in t (float64) against the returned u_t."""
    path = PATHS[name]()
    x_0, x_1 = _points(shape)
    h = 1e-6
    for t in TIMES:  # all <= 0.95: the VP path's u_t blows up at t = 1
        u = path.sample(x_0, x_1, t).u_t
        fd = (path.sample(x_0, x_1, t + h).x_t - path.sample(x_0, x_1, t - h).x_t) / (2 * h)
        np.testing.assert_allclose(u.numpy(), fd.numpy(), rtol=1e-6, atol=1e-6, err_msg=f"t = {t}")


@pytest.mark.parametrize("name", AFFINE_PATHS)
@pytest.mark.parametrize("t", [0.0, *TIMES, 1.0])
def test_affine_coefficients_match_closed_form(name, t):
    path = AFFINE_PATHS[name]()
    x_0, x_1 = _points((3, 2))
    if name == "vp" and t == 1.0:
        t = 1 - 1e-9  # d_sigma is infinite at t = 1
    a, s, da, ds = affine_coefficients(name, t)
    ps = path.sample(x_0, x_1, t)
    np.testing.assert_allclose(ps.x_t.numpy(), (a * x_1 + s * x_0).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ps.u_t.numpy(), (da * x_1 + ds * x_0).numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "name, shape",
    [(n, s) for n, s in PATH_SHAPES if n in ("linear", "cosine", "curved-0.7", "curved--1.5")],
)
def test_endpoints(name, shape):
    path = PATHS[name]()
    x_0, x_1 = _points(shape)
    torch.testing.assert_close(path.sample(x_0, x_1, 0.0).x_t, x_0, rtol=0, atol=1e-12)
    torch.testing.assert_close(path.sample(x_0, x_1, 1.0).x_t, x_1, rtol=0, atol=1e-12)


def test_sigma_min_endpoint_keeps_a_little_noise():
    x_0, x_1 = _points((5, 2))
    x_t = paths.linear_path(0.1).sample(x_0, x_1, 1.0).x_t
    torch.testing.assert_close(x_t, x_1 + 0.1 * x_0, rtol=0, atol=1e-12)


def test_vp_endpoints():
    """alpha_1 = 1, sigma_1 = 0; alpha_0 = exp(-T(1)/2) with T(1) = beta_min + (beta_max - beta_min)/2."""
    x_0, x_1 = _points((5, 2))
    path = paths.vp_path(0.1, 20.0)
    torch.testing.assert_close(path.sample(x_0, x_1, 1.0).x_t, x_1, rtol=0, atol=1e-12)
    alpha_0 = np.exp(-0.5 * (0.1 + 0.5 * 19.9))
    expected = alpha_0 * x_1 + np.sqrt(1 - alpha_0**2) * x_0
    torch.testing.assert_close(path.sample(x_0, x_1, 0.0).x_t, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["cosine", "vp"])
def test_variance_preserving_paths(name):
    path = AFFINE_PATHS[name]()
    t = torch.linspace(0, 0.999, 101, dtype=torch.float64)
    coef = path.scheduler(t)
    torch.testing.assert_close(coef.alpha_t**2 + coef.sigma_t**2, torch.ones_like(t))


@pytest.mark.parametrize("name", PATHS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sample_fields_shapes_and_dtype(name, dtype):
    path = PATHS[name]()
    x_0, x_1 = _points((6, 2), dtype=dtype)
    t = torch.rand(6, dtype=dtype)
    ps = path.sample(x_0, x_1, t)
    assert isinstance(ps, paths.PathSample)
    assert ps.x_0 is x_0 and ps.x_1 is x_1
    assert ps.t.shape == (6,) and ps.x_t.shape == (6, 2) and ps.u_t.shape == (6, 2)
    assert ps.x_t.dtype == dtype and ps.u_t.dtype == dtype
    torch.testing.assert_close(ps.t, t)


@pytest.mark.parametrize("name", PATHS)
def test_float_t_equals_broadcast_tensor_t(name):
    path = PATHS[name]()
    x_0, x_1 = _points((6, 2))
    a = path.sample(x_0, x_1, 0.3)
    b = path.sample(x_0, x_1, torch.full((6,), 0.3, dtype=torch.float64))
    c = path.sample(x_0, x_1, torch.tensor(0.3, dtype=torch.float64))
    for other in (b, c):
        torch.testing.assert_close(a.x_t, other.x_t, rtol=0, atol=0)
        torch.testing.assert_close(a.u_t, other.u_t, rtol=0, atol=0)


@pytest.mark.parametrize("name", PATHS)
def test_per_sample_times(name):
    """A (B,) t gives each row its own time: row b equals the path sampled at the float t[b]."""
    path = PATHS[name]()
    x_0, x_1 = _points((5, 2))
    t = torch.tensor([0.0, 0.1, 0.45, 0.7, 0.9], dtype=torch.float64)
    ps = path.sample(x_0, x_1, t)
    for b in range(5):
        row = path.sample(x_0[b : b + 1], x_1[b : b + 1], float(t[b]))
        torch.testing.assert_close(ps.x_t[b], row.x_t[0], rtol=1e-15, atol=1e-15)
        torch.testing.assert_close(ps.u_t[b], row.u_t[0], rtol=1e-15, atol=1e-15)


def test_curved_with_a_zero_is_the_linear_path():
    x_0, x_1 = _points((8, 2))
    t = torch.rand(8, dtype=torch.float64)
    curved = paths.CurvedPath(0.0).sample(x_0, x_1, t)
    straight = paths.linear_path().sample(x_0, x_1, t)
    torch.testing.assert_close(curved.x_t, straight.x_t, rtol=1e-15, atol=1e-15)
    torch.testing.assert_close(curved.u_t, straight.u_t, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("a", [0.5, -1.5, 3.0])
def test_curved_offset_is_perpendicular_with_magnitude_a_t_one_minus_t(a):
    x_0, x_1 = _points((10, 2), seed=3)
    d = (x_1 - x_0).numpy()
    for t in TIMES:
        x_t = paths.CurvedPath(a).sample(x_0, x_1, t).x_t.numpy()
        offset = x_t - ((1 - t) * x_0 + t * x_1).numpy()
        np.testing.assert_allclose((offset * d).sum(axis=1), 0.0, atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(offset, axis=1), abs(a) * t * (1 - t), rtol=1e-12)
        # a > 0 bends to the left of x_1 - x_0 (a +90 degree rotation): positive cross product
        cross = d[:, 0] * offset[:, 1] - d[:, 1] * offset[:, 0]
        assert (np.sign(cross) == np.sign(a)).all()


def test_curved_path_rejects_non_2d_points():
    x_0, x_1 = _points((4, 3))
    with pytest.raises(ValueError, match="2-D"):
        paths.CurvedPath(1.0).sample(x_0, x_1, 0.5)


def test_scheduler_argument_checks():
    with pytest.raises(ValueError, match="sigma_min"):
        paths.linear_path(1.0)
    with pytest.raises(ValueError, match="beta_min"):
        paths.vp_path(5.0, 1.0)


def test_default_affine_path_is_linear():
    x_0, x_1 = _points((4, 2))
    ps = paths.AffinePath().sample(x_0, x_1, 0.25)
    torch.testing.assert_close(ps.x_t, 0.75 * x_0 + 0.25 * x_1)
    torch.testing.assert_close(ps.u_t, x_1 - x_0)
