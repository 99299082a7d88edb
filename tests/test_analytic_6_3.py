"""Section 6.3: the empirical target's posterior and field, and the constant L_CFM - L_FM.

Referees: Bayes' rule with scipy.stats densities, the general Gaussian-mixture code path with
full covariance solves, the joint-Gaussian conditional variance derived here by hand, and a
Monte-Carlo estimate of L_CFM - L_FM for two different fields.
"""

import numpy as np
import pytest
import torch
from scipy import special, stats

import fmlib as fm
from fmlib import analytic


@pytest.mark.parametrize("t", [0.0, 0.3, 0.8, 0.97])
def test_posterior_of_two_points_is_bayes_rule(t):
    points = torch.tensor([[-1.0], [2.0]], dtype=torch.float64)
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)[:, None]
    target = analytic.EmpiricalTarget(points)
    # x_t | x_1 = m ~ N(t m, (1 - t)^2): Bayes with equal prior weights, in log space
    log_like = np.stack([stats.norm.logpdf(x[:, 0], t * m, 1 - t) for m in (-1.0, 2.0)], 1)
    weights = special.softmax(log_like, axis=1)
    np.testing.assert_allclose(target.posterior(x, t), weights, atol=1e-10)
    # u_t(x) = E[(x_1 - x) / (1 - t) | x]
    e_x1 = weights @ np.array([-1.0, 2.0])
    np.testing.assert_allclose(
        target.velocity(x, t)[:, 0], (e_x1 - x[:, 0].numpy()) / (1 - t), atol=1e-8
    )
    log_p = special.logsumexp(log_like, axis=1) - np.log(2)
    np.testing.assert_allclose(target.log_prob(x, t), log_p, atol=1e-9)


@pytest.mark.parametrize(
    "path",
    [fm.linear_path(), fm.linear_path(0.1), fm.cosine_path(), fm.vp_path()],
    ids=["linear", "linear-sigma_min", "cosine", "vp"],
)
def test_empirical_target_agrees_with_the_general_mixture_solves(path):
    g = torch.Generator().manual_seed(0)
    points, x = torch.randn(7, 2, generator=g), 2 * torch.randn(50, 2, generator=g)
    t = 0.05 + torch.rand(50, generator=g) * 0.9
    fast, general = (
        analytic.EmpiricalTarget(points, path),
        analytic.GaussianMixture(points, path=path),
    )
    for name in ("posterior", "velocity", "score", "log_prob"):
        torch.testing.assert_close(getattr(fast, name)(x, t), getattr(general, name)(x, t))
    torch.testing.assert_close(
        analytic.conditional_velocity_variance(fast, x, t),
        analytic.conditional_velocity_variance(general, x, t),
    )
    assert isinstance(analytic.empirical_target(points), analytic.EmpiricalTarget)


def test_empirical_target_at_t_1_needs_sigma_min():
    target = analytic.EmpiricalTarget(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="sigma_t = 0"):
        target.velocity(torch.zeros(4, 2), 1.0)
    with pytest.raises(ValueError, match="D = 2"):
        target.velocity(torch.zeros(4, 3), 0.5)
    smooth = analytic.EmpiricalTarget(torch.zeros(3, 2), fm.linear_path(0.1))
    # at t = 1 the path ends in N(x_1^j, sigma_min^2 I)
    x = torch.randn(5, 2, dtype=torch.float64)
    expected = stats.multivariate_normal(np.zeros(2), 0.01 * np.eye(2)).logpdf(x.numpy())
    np.testing.assert_allclose(smooth.log_prob(x, 1.0), expected, atol=1e-10)


@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_velocity_variance_of_a_gaussian_is_the_joint_gaussian_formula(t):
    # x_1 ~ N(m, s^2), x_0 ~ N(0, 1), x_t = t x_1 + (1 - t) x_0, u = x_1 - x_0: jointly Gaussian,
    # Var[u | x_t] = Var u - Cov(u, x_t)^2 / Var x_t whatever x_t is.
    m, s2 = 1.5, 0.3
    target = analytic.gaussian_target(torch.tensor([m]), torch.tensor([[s2]]))
    var_u, cov, var_x = s2 + 1, t * s2 - (1 - t), t**2 * s2 + (1 - t) ** 2
    x = torch.linspace(-2, 3, 6)[:, None]
    got = analytic.conditional_velocity_variance(target, x, t)
    torch.testing.assert_close(got, torch.full((6,), var_u - cov**2 / var_x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["empirical", "mixture"])
def test_velocity_variance_is_l_cfm_minus_l_fm_for_any_field(kind):
    g = torch.Generator().manual_seed(1)
    if kind == "empirical":
        target = analytic.EmpiricalTarget(torch.randn(5, 2, generator=g))
    else:
        target = analytic.GaussianMixture(
            torch.randn(3, 2, generator=g), covs=torch.tensor([0.1, 0.3, 0.05])
        )
    n = 200_000
    x_0, x_1 = torch.randn(n, 2, generator=g, dtype=torch.float64), target.sample(n, g).double()
    t = torch.rand(n, generator=g, dtype=torch.float64) * 0.99
    x_t, u_c = t[:, None] * x_1 + (1 - t[:, None]) * x_0, x_1 - x_0
    u = target.velocity(x_t, t)
    constant = analytic.conditional_velocity_variance(target, x_t, t)
    for v in (torch.zeros_like(x_t), torch.sin(3 * x_t).flip(1) * 2):  # two unrelated fields
        diff = (v - u_c).pow(2).sum(1) - (v - u).pow(2).sum(1) - constant
        se = float(diff.std() / n**0.5)
        assert abs(float(diff.mean())) < 4 * se, (float(diff.mean()), se)


def test_velocity_variance_rejects_what_is_not_a_target():
    with pytest.raises(TypeError, match="GaussianMixture"):
        analytic.conditional_velocity_variance(lambda x, t: x, torch.zeros(2, 2), 0.5)
