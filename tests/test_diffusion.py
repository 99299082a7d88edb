"""fmlib.diffusion: score <-> velocity, the probability-flow ODE and reverse-SDE sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import AFFINE_PATHS, BETA_MAX, BETA_MIN, affine_coefficients

from fmlib import analytic, diffusion, solvers

TIMES = [0.05, 0.3, 0.6, 0.9]
MEANS = torch.tensor([[-1.0, 1.0], [1.5, 0.0], [0.0, -2.0]], dtype=torch.float64)
COVS = torch.tensor([0.3, 0.1, 0.5], dtype=torch.float64)


def _x(n, seed=0):
    return 1.5 * torch.randn(
        n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", TIMES)
def test_score_to_velocity_and_back_are_inverses(path_name, t):
    """Self-consistency only (fmlib against fmlib): the two maps undo each other. The reference
    checks are the Tweedie formula written out and the Gaussian-conditioning test below."""
    path = AFFINE_PATHS[path_name]()
    x, score = _x(8, 1), _x(8, 2)
    vel = diffusion.score_to_velocity(score, x, t, path)
    np.testing.assert_allclose(
        diffusion.velocity_to_score(vel, x, t, path).numpy(), score.numpy(), rtol=1e-9, atol=1e-10
    )
    np.testing.assert_allclose(
        diffusion.score_to_velocity(
            diffusion.velocity_to_score(score, x, t, path), x, t, path
        ).numpy(),
        score.numpy(),
        rtol=1e-9,
        atol=1e-10,
    )


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", TIMES)
def test_both_maps_against_gaussian_conditioning(path_name, t):
    """x_1 ~ N(m, c I), x_0 ~ N(0, I), x = a x_1 + s x_0 is jointly Gaussian with x_1 and x_0:
    p_t = N(a m, v I) with v = a^2 c + s^2, so score = -(x - a m) / v, and by Gaussian conditioning
    E[x_1 | x] = m + (a c / v)(x - a m), E[x_0 | x] = (s / v)(x - a m); the marginal velocity is
    u = d_a E[x_1 | x] + d_s E[x_0 | x]. Both maps are checked against these, independently."""
    a, s, da, ds = affine_coefficients(path_name, t)
    m, c = torch.tensor([0.7, -1.2], dtype=torch.float64), 0.4
    v = a**2 * c + s**2
    x = _x(8, 5)
    score = -(x - a * m) / v
    velocity = da * (m + (a * c / v) * (x - a * m)) + ds * (s / v) * (x - a * m)
    path = AFFINE_PATHS[path_name]()
    np.testing.assert_allclose(
        diffusion.score_to_velocity(score, x, t, path).numpy(),
        velocity.numpy(),
        rtol=1e-9,
        atol=1e-10,
    )
    np.testing.assert_allclose(
        diffusion.velocity_to_score(velocity, x, t, path).numpy(),
        score.numpy(),
        rtol=1e-9,
        atol=1e-10,
    )


@pytest.mark.parametrize(
    "fn, t, name",
    [
        ("score_to_velocity", 0.0, "alpha_t"),
        ("velocity_to_score", 1.0, "sigma_t"),
        ("velocity_to_score", 0.0, "alpha_t"),
    ],
)
def test_maps_raise_where_they_divide_by_zero(fn, t, name):
    """On the linear path alpha_0 = 0 (pure noise) and sigma_1 = 0 (a point mass): a clear
    ValueError naming the coefficient instead of silent inf / NaN, also for a (B,) t with one bad entry."""
    x = _x(4)
    path = AFFINE_PATHS["linear"]()
    with pytest.raises(ValueError, match=rf"{name} must be non-zero"):
        getattr(diffusion, fn)(x, x, t, path)
    t_b = torch.tensor([0.5, 0.5, t, 0.5], dtype=torch.float64)
    with pytest.raises(ValueError, match=rf"{name} must be non-zero"):
        getattr(diffusion, fn)(x, x, t_b, path)
    assert torch.isfinite(getattr(diffusion, fn)(x, x, 0.5, path)).all()


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", TIMES)
def test_score_to_velocity_matches_tweedie_written_out(path_name, t):
    """u = d_alpha E[x_1 | x] + d_sigma E[x_0 | x], E[x_1 | x] = (x + sigma^2 s) / alpha, E[x_0 | x] = -sigma s."""
    a, s, da, ds = affine_coefficients(path_name, t)
    x, score = _x(6, 3), _x(6, 4)
    expected = da * (x + s**2 * score) / a + ds * (-s * score)
    np.testing.assert_allclose(
        diffusion.score_to_velocity(score, x, t, AFFINE_PATHS[path_name]()).numpy(),
        expected.numpy(),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", TIMES)
def test_mixture_score_maps_to_mixture_velocity(path_name, t):
    """Two independently coded closed forms of one marginal path agree through the Tweedie map."""
    mix = analytic.GaussianMixture(MEANS, COVS, None, AFFINE_PATHS[path_name]())
    x = _x(10, 5)
    np.testing.assert_allclose(
        diffusion.score_to_velocity(mix.score(x, t), x, t, mix.path).numpy(),
        mix.velocity(x, t).numpy(),
        rtol=1e-8,
        atol=1e-9,
    )


@pytest.mark.parametrize("t", [0.0, *TIMES])
def test_probability_flow_field_equals_the_vp_marginal_velocity(t):
    sde = diffusion.VPSDE(BETA_MIN, BETA_MAX)
    mix = analytic.GaussianMixture(MEANS, COVS, None, sde.path())
    x = _x(10, 6)
    v = diffusion.probability_flow_field(mix.score, sde)
    np.testing.assert_allclose(v(x, t).numpy(), mix.velocity(x, t).numpy(), rtol=1e-8, atol=1e-9)


def test_vp_sde_coefficients():
    """f(x, s) = -beta(s) x / 2 and g(s)^2 = beta(s), beta(s) = beta_min + s (beta_max - beta_min), s = 1 - t."""
    sde = diffusion.VPSDE(BETA_MIN, BETA_MAX)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64)
    beta = BETA_MIN + (1 - t) * (BETA_MAX - BETA_MIN)
    x = _x(4, 7)
    torch.testing.assert_close(sde.drift(x, t), -0.5 * beta[:, None] * x)
    torch.testing.assert_close(sde.diffusion(t) ** 2, beta)


def test_vp_sde_path_matches_the_sde_marginals():
    """The SDE's mean decay: E[x_s | x_0] = exp(-T(s)/2) x_0, so alpha_t = exp(-T(1 - t)/2)."""
    sde = diffusion.VPSDE(0.5, 8.0)
    for t in (0.0, 0.4, 0.9):
        s = 1 - t
        alpha = math.exp(-0.5 * (0.5 * s + 0.5 * 7.5 * s**2))
        coef = sde.path().scheduler(torch.tensor([t], dtype=torch.float64))
        assert coef.alpha_t.item() == pytest.approx(alpha, rel=1e-12)
        assert coef.sigma_t.item() == pytest.approx(math.sqrt(1 - alpha**2), rel=1e-12)


@pytest.mark.slow  # Monte Carlo over thousands of samples
def test_reverse_sde_sample_reaches_a_gaussian_target():
    m = torch.tensor([1.5, -1.0], dtype=torch.float64)
    s2 = 0.25
    sde = diffusion.VPSDE(BETA_MIN, BETA_MAX)
    target = analytic.gaussian_target(m, s2 * torch.eye(2, dtype=torch.float64), sde.path())
    g = torch.Generator().manual_seed(0)
    x_init = torch.randn(3000, 2, generator=g, dtype=torch.float64)
    x = diffusion.reverse_sde_sample(target.score, sde, x_init, steps=400, generator=g)
    np.testing.assert_allclose(x.mean(0).numpy(), m.numpy(), atol=0.05)
    np.testing.assert_allclose(x.var(0).numpy(), [s2, s2], rtol=0.12)
    # with the score switched off the samples stay pure noise: the test can fail
    y = diffusion.reverse_sde_sample(
        lambda x, t: torch.zeros_like(x), sde, x_init, steps=50, generator=g
    )
    assert (y.mean(0) - m).abs().max() > 0.5


def test_reverse_sde_sample_is_reproducible():
    sde = diffusion.VPSDE()
    score = lambda x, t: -x
    x_init = _x(5, 8)
    a = diffusion.reverse_sde_sample(
        score, sde, x_init, steps=10, generator=torch.Generator().manual_seed(1)
    )
    b = diffusion.reverse_sde_sample(
        score, sde, x_init, steps=10, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(a, b)


@pytest.mark.slow  # Monte Carlo over thousands of samples
def test_probability_flow_ode_transports_noise_to_the_target():
    """Solve the PF ODE of a Gaussian target from its own t = 0 marginal: samples land on N(m, S)."""
    m = torch.tensor([1.0, -0.5], dtype=torch.float64)
    cov = torch.tensor([[0.5, 0.2], [0.2, 0.3]], dtype=torch.float64)
    sde = diffusion.VPSDE(BETA_MIN, BETA_MAX)
    target = analytic.gaussian_target(m, cov, sde.path())
    a0, s0, _, _ = affine_coefficients("vp", 0.0)
    g = torch.Generator().manual_seed(0)
    n = 4000
    c0 = torch.linalg.cholesky(a0**2 * cov + s0**2 * torch.eye(2, dtype=torch.float64))
    x_init = a0 * m + torch.randn(n, 2, generator=g, dtype=torch.float64) @ c0.T
    x = solvers.solve(
        diffusion.probability_flow_field(target.score, sde),
        x_init,
        t1=1 - 1e-4,
        method="rk4",
        steps=100,
    ).x
    np.testing.assert_allclose(x.mean(0).numpy(), m.numpy(), atol=0.04)
    np.testing.assert_allclose(torch.cov(x.T).numpy(), cov.numpy(), atol=0.04)


def test_non_affine_path_is_rejected():
    from fmlib import paths

    with pytest.raises(TypeError, match="AffinePath"):
        diffusion.score_to_velocity(_x(3), _x(3), 0.5, paths.CurvedPath())
