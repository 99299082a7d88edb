"""The Section 6.4 problem-set checks: right answers pass on many seeds, plausible wrong ones get
the hint that names their mistake, and fmlib's own conversions are no shortcut."""

from __future__ import annotations

import math

import pytest
import torch

import fmlib as fm
from fmlib import checks


def eps_to_velocity(eps, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t):
    score = -eps / sigma_t
    return (
        d_alpha_t / alpha_t * x + (d_alpha_t * sigma_t**2 / alpha_t - d_sigma_t * sigma_t) * score
    )


def _denoiser(u, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t):
    return (d_sigma_t * x - sigma_t * u) / (alpha_t * d_sigma_t - sigma_t * d_alpha_t)


def posterior_covariance(velocity, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t):
    """Tweedie's second-order formula: Cov[x_1 | x] = sigma^2 / alpha d E[x_1 | x] / dx, the
    Jacobian by one backward pass per coordinate (rows are independent)."""
    x = x.detach().requires_grad_(True)
    den = _denoiser(velocity(x), x, alpha_t, sigma_t, d_alpha_t, d_sigma_t)
    rows = [
        torch.autograd.grad(den[:, i].sum(), x, retain_graph=True)[0] for i in range(x.shape[1])
    ]
    jac = torch.stack(rows, dim=1)  # (B, D, D): jac[b, i, j] = d den_i / d x_j
    return (sigma_t**2 / alpha_t)[:, :, None] * jac


def linear_path_everywhere(velocity, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t):
    """The linear path's coefficients (d_alpha = 1, d_sigma = -1) used on every path."""
    one = torch.ones_like(alpha_t)
    return posterior_covariance(velocity, x, alpha_t, sigma_t, one, -one)


def posterior_covariance_fd(velocity, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t, h=1e-4):
    """A different route: central differences of the denoiser, coordinate by coordinate."""
    cols = []
    for j in range(x.shape[1]):
        e = torch.zeros_like(x)
        e[:, j] = h
        plus = _denoiser(velocity(x + e), x + e, alpha_t, sigma_t, d_alpha_t, d_sigma_t)
        minus = _denoiser(velocity(x - e), x - e, alpha_t, sigma_t, d_alpha_t, d_sigma_t)
        cols.append((plus - minus) / (2 * h))
    jac = torch.stack(cols, dim=2)
    return (sigma_t**2 / alpha_t)[:, :, None] * jac.detach()


def gaussian_velocity(x, mean, cov, alpha_t, sigma_t, d_alpha_t, d_sigma_t):
    """A second derivation: u = d_alpha m + (alpha d_alpha S + sigma d_sigma I) C^{-1} (x - alpha m)."""
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    a, s, da, ds = (c[:, :, None] for c in (alpha_t, sigma_t, d_alpha_t, d_sigma_t))
    c = a**2 * cov + s**2 * eye
    k = a * da * cov + s * ds * eye
    r = torch.linalg.solve(c, (x - alpha_t * mean)[:, :, None])
    return d_alpha_t * mean + (k @ r)[:, :, 0]


def gaussian_velocity_diagonal(x, mean, cov, *coefficients):
    return gaussian_velocity(x, mean, torch.diag(cov.diagonal()), *coefficients)


def cosine_dsm_loss(eps_model, x_0, x_1, t):
    angle = 0.5 * math.pi * t[:, None]
    x_t = angle.sin() * x_1 + angle.cos() * x_0
    return (eps_model(x_t, t) - x_0).pow(2).sum(dim=1).mean()


def cosine_dsm_linear(eps_model, x_0, x_1, t):
    x_t = t[:, None] * x_1 + (1 - t[:, None]) * x_0
    return (eps_model(x_t, t) - x_0).pow(2).sum(dim=1).mean()


def grid_power(n, t_end):
    """Steps packed towards the data end: t_end (1 - (1 - s)^2)."""
    s = torch.linspace(0, 1, n + 1, dtype=torch.float64)
    return t_end * (1 - (1 - s) ** 2)


def grid_sine(n, t_end):
    """A different design: t_end sin(pi s / 2)."""
    s = torch.linspace(0, 1, n + 1, dtype=torch.float64)
    return t_end * torch.sin(0.5 * math.pi * s)


RIGHT = [
    (checks.check_eps_to_velocity, eps_to_velocity),
    (checks.check_posterior_covariance, posterior_covariance),
    (checks.check_posterior_covariance, posterior_covariance_fd),
    (checks.check_gaussian_velocity, gaussian_velocity),
    (checks.check_cosine_dsm_loss, cosine_dsm_loss),
]


@pytest.mark.parametrize("check, answer", RIGHT, ids=lambda f: getattr(f, "__name__", ""))
def test_right_answers_pass_on_many_seeds(check, answer):
    for seed in range(25):
        assert check(answer, seed=seed, quiet=True), seed


@pytest.mark.parametrize("design", [grid_power, grid_sine])
def test_two_different_time_grids_pass(design):
    for seed in range(4):
        result = checks.check_time_grid(design, seed=seed, quiet=True)
        assert result, result.message


WRONG = [
    (
        checks.check_eps_to_velocity,
        lambda e, x, a, s, da, ds: eps_to_velocity(-s * e, x, a, s, da, ds),
        "eps as the score",
    ),
    (
        checks.check_eps_to_velocity,
        lambda e, x, a, s, da, ds: eps_to_velocity(-e, x, a, s, da, ds),
        "wrong sign of the score",
    ),
    (
        checks.check_posterior_covariance,
        lambda v, x, a, s, da, ds: (
            posterior_covariance(v, x, a, s, da, ds) * a[:, :, None] / s[:, :, None] ** 2
        ),
        "Jacobian of the denoiser",
    ),
    (
        checks.check_posterior_covariance,
        lambda v, x, a, s, da, ds: posterior_covariance(v, x, a, s, da, ds) / s[:, :, None] ** 2,
        "off by sigma_t^2",
    ),
    (
        checks.check_posterior_covariance,
        lambda v, x, a, s, da, ds: posterior_covariance(v, x, a, s, da, ds) * a[:, :, None] ** 2,
        "Cov[alpha_t x_1",
    ),
    (checks.check_posterior_covariance, linear_path_everywhere, "differ"),
    (checks.check_gaussian_velocity, gaussian_velocity_diagonal, "diagonal"),
    (
        checks.check_gaussian_velocity,
        lambda x, m, c, *k: gaussian_velocity(x, 0 * m, c, *k),
        "mean of the target",
    ),
    (
        checks.check_gaussian_velocity,
        lambda x, m, c, a, s, da, ds: gaussian_velocity(x, m, c, a, s, da, 0 * ds),
        "noise's share",
    ),
    (checks.check_cosine_dsm_loss, cosine_dsm_linear, "linear path"),
    (
        checks.check_cosine_dsm_loss,
        lambda m, x_0, x_1, t: cosine_dsm_loss(m, x_1, x_0, t),
        "swapped",
    ),
    (
        checks.check_cosine_dsm_loss,
        lambda m, x_0, x_1, t: cosine_dsm_loss(m, x_0, x_1, t) / x_0.shape[1],
        "averaged over the coordinates",
    ),
    (checks.check_time_grid, lambda n, t_end: torch.linspace(0, t_end, n + 1), "0.8 x uniform"),
    (
        checks.check_time_grid,
        lambda n, t_end: t_end * torch.linspace(0, 1, n + 1) ** 2,  # packed at the wrong end
        "0.8 x uniform",
    ),
    (checks.check_time_grid, lambda n, t_end: torch.linspace(0, 1, n + 1), "end at t_end"),
    (checks.check_time_grid, lambda n, t_end: torch.linspace(0, t_end, n), "n + 1"),
]


@pytest.mark.parametrize(
    "check, answer, hint", WRONG, ids=lambda x: x if isinstance(x, str) else ""
)
def test_wrong_answers_fail_with_the_right_hint(check, answer, hint):
    for seed in (0, 1, 2):
        result = check(answer, seed=seed, quiet=True)
        assert not result and hint in result.message, result.message


SHORTCUTS = [
    (
        checks.check_eps_to_velocity,
        lambda e, x, a, s, da, ds: fm.diffusion.score_to_velocity(-e / s, x, a, fm.linear_path()),
        "fm.diffusion.score_to_velocity",
    ),
    (
        checks.check_posterior_covariance,
        lambda v, x, a, s, da, ds: fm.diffusion.velocity_to_score(v(x), x, a, fm.linear_path()),
        "fm.diffusion.velocity_to_score",
    ),
    (
        checks.check_gaussian_velocity,
        lambda x, m, c, a, s, da, ds: fm.analytic.GaussianMixture(m[None], c[None]).velocity(
            x, a[:, 0]
        ),
        "fm.analytic.GaussianMixture.velocity",
    ),
    (
        checks.check_cosine_dsm_loss,
        lambda e, x_0, x_1, t: fm.diffusion.dsm_loss(
            lambda x, t: e(x, t), fm.cosine_path(), x_0, x_1, t
        ),
        "is the library's answer",
    ),
]


@pytest.mark.parametrize(
    "check, answer, name", SHORTCUTS, ids=lambda x: x if isinstance(x, str) else ""
)
def test_fmlib_shortcut_is_refused(check, answer, name):
    result = check(answer, seed=0, quiet=True)
    assert not result and name in result.message, result.message
