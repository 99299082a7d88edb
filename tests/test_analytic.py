"""fmlib.analytic: closed-form marginal paths for Gaussian-mixture and empirical targets.

Referees: a brute-force posterior average written here, the regression identity of conditional
flow matching (Monte Carlo), scipy's Gaussian densities, autograd, the continuity equation by
finite differences, the 1-D W2 formula and POT on samples.
"""

from __future__ import annotations

import numpy as np
import ot as pot
import pytest
import torch
from helpers import AFFINE_PATHS, affine_coefficients, randn
from scipy import special, stats
from scipy.integrate import solve_ivp
from scipy.special import logsumexp, softmax
from scipy.stats import multivariate_normal

import fmlib as fm
from fmlib import analytic

MEANS = torch.tensor([[-1.5, 0.5], [1.0, -0.5]], dtype=torch.float64)
COVS = torch.tensor([[[0.5, 0.2], [0.2, 0.3]], [[0.2, -0.05], [-0.05, 0.4]]], dtype=torch.float64)
WEIGHTS = torch.tensor([0.3, 0.7], dtype=torch.float64)


def _mixture(path_name="linear"):
    return analytic.GaussianMixture(MEANS, COVS, WEIGHTS, AFFINE_PATHS[path_name]())


def _scipy_mixture_logpdf(x, t, path_name, means=MEANS, covs=COVS, weights=WEIGHTS):
    a, s, _, _ = affine_coefficients(path_name, t)
    d = means.shape[1]
    comps = [
        np.log(w)
        + multivariate_normal(a * m.numpy(), a**2 * c.numpy() + s**2 * np.eye(d)).logpdf(x.numpy())
        for m, c, w in zip(means, covs, weights.numpy(), strict=True)
    ]
    return logsumexp(np.stack(comps), axis=0)


# --- empirical target: brute force ------------------------------------------------------------


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", [0.0, 0.2, 0.5, 0.9])
def test_empirical_velocity_is_the_posterior_weighted_average(path_name, t):
    pts = randn(5, 2, seed=1, scale=1.5)
    x = randn(7, 2, seed=2, scale=1.5)
    target = analytic.empirical_target(pts, AFFINE_PATHS[path_name]())
    a, s, da, ds = affine_coefficients(path_name, t)
    xn, pn = x.numpy(), pts.numpy()
    expected = np.zeros_like(xn)
    for b in range(len(xn)):
        # x_t = a x_1 + s x_0 with x_1 = p_j  =>  x_0 = (x - a p_j) / s, and p(x | j) = N(x; a p_j, s^2 I)
        logw = np.array([-np.sum((xn[b] - a * p) ** 2) / (2 * s**2) for p in pn])
        w = softmax(logw)
        u_j = np.array([da * p + ds * (xn[b] - a * p) / s for p in pn])
        expected[b] = (w[:, None] * u_j).sum(0)
        np.testing.assert_allclose(target.posterior(x, t)[b].numpy(), w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(target.velocity(x, t).numpy(), expected, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(target(x, t).numpy(), expected, rtol=1e-9, atol=1e-10)


def test_empirical_target_is_singular_at_t_one():
    target = analytic.empirical_target(randn(3, 2, scale=1.5))
    with pytest.raises(ValueError, match="t < 1"):
        target.velocity(randn(2, 2, scale=1.5), 1.0)


def test_empirical_velocity_near_t_one_points_at_the_nearest_data_point():
    """As t -> 1 along the straight path, u_t(x) ~ (p_nearest - x) / (1 - t)."""
    pts = torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=torch.float64)
    x = torch.tensor([[0.4, 0.1]], dtype=torch.float64)
    t = 0.95
    u = analytic.empirical_target(pts).velocity(x, t)
    np.testing.assert_allclose(u.numpy(), ((pts[0] - x) / (1 - t)).numpy(), rtol=1e-9)


# --- the regression identity of CFM (Monte Carlo) -------------------------------------------------


def _regression_z_scores(target, path_name, velocity, n=100_000, t_max=1.0, seed=0):
    """z-scores of E[(u_t(x_t | x_0, x_1) - velocity(x_t, t)) g(x_t, t)] for several test functions g."""
    g = torch.Generator().manual_seed(seed)
    x_1 = target.sample(n, g).double()
    x_0 = torch.randn(n, 2, generator=g, dtype=torch.float64)
    t = torch.rand(n, generator=g, dtype=torch.float64) * t_max
    ps = AFFINE_PATHS[path_name]().sample(x_0, x_1, t)
    resid = (ps.u_t - velocity(ps.x_t, t)).numpy()  # (n, 2)
    xt, tn = ps.x_t.numpy(), t.numpy()[:, None]
    feats = np.concatenate([np.ones((n, 1)), xt, tn, xt * tn, np.sin(2 * xt), xt**2], axis=1)
    prods = resid[:, :, None] * feats[:, None, :]  # (n, 2, F)
    return prods.mean(0) / (prods.std(0, ddof=1) / np.sqrt(n))


@pytest.mark.slow  # Monte Carlo regression z-scores on large samples
@pytest.mark.parametrize("path_name", ["linear", "linear-smin0.1", "cosine", "vp"])
@pytest.mark.parametrize("kind", ["gaussian", "mixture"])
def test_velocity_satisfies_the_cfm_regression_identity(path_name, kind):
    """u_t(x) = E[u_t(x_t | x_0, x_1) | x_t = x]: the residual has mean 0 and is orthogonal to any g(x_t, t)."""
    path = AFFINE_PATHS[path_name]()
    if kind == "gaussian":
        target = analytic.gaussian_target(MEANS[0], COVS[0], path)
    else:
        target = analytic.GaussianMixture(MEANS, COVS, WEIGHTS, path)
    t_max = 0.95 if path_name == "vp" else 1.0  # the VP path's u_t(x | x_0, x_1) blows up at t = 1
    z = _regression_z_scores(target, path_name, target.velocity, t_max=t_max)
    assert np.abs(z).max() < 5, z
    # the same statistic sees a 20% error in the field: the test has power
    z_bad = _regression_z_scores(
        target, path_name, lambda x, t: 0.8 * target.velocity(x, t), t_max=t_max
    )
    assert np.abs(z_bad).max() > 8


# --- densities and scores ------------------------------------------------------------------------


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", [0.0, 0.3, 0.7, 1.0])
def test_gaussian_target_marginal_is_the_closed_form_gaussian(path_name, t):
    """Linear path: p_t = N(t m, t^2 S + (1 - t)^2 I); in general N(alpha m, alpha^2 S + sigma^2 I)."""
    x = randn(20, 2, seed=3, scale=1.5)
    m, s_cov = MEANS[0], COVS[0]
    target = analytic.gaussian_target(m, s_cov, AFFINE_PATHS[path_name]())
    alpha_t, sigma_t, _, _ = affine_coefficients(path_name, t)
    ref = multivariate_normal(
        alpha_t * m.numpy(), alpha_t**2 * s_cov.numpy() + sigma_t**2 * np.eye(2)
    ).logpdf(x.numpy())
    np.testing.assert_allclose(target.log_prob(x, t).numpy(), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", [0.1, 0.6, 1.0])
def test_mixture_log_prob_matches_scipy(path_name, t):
    x = randn(20, 2, seed=4, scale=1.5)
    np.testing.assert_allclose(
        _mixture(path_name).log_prob(x, t).numpy(),
        _scipy_mixture_logpdf(x, t, path_name),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
def test_mixture_log_prob_with_a_time_per_point_matches_scipy(path_name):
    """One t per point (the per-point factorisation) and one shared t (factored once per
    component) must both be scipy's density; a broadcast error in either path fails here."""
    x, ts = randn(12, 2, seed=5, scale=1.5), torch.linspace(0.05, 0.95, 12, dtype=torch.float64)
    expected = [_scipy_mixture_logpdf(x[i : i + 1], float(ts[i]), path_name) for i in range(12)]
    np.testing.assert_allclose(
        _mixture(path_name).log_prob(x, ts).numpy(), expected, rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("target_kind, t", [("mixture", 1.0), ("mixture", 0.5), ("empirical", 0.7)])
def test_log_prob_integrates_to_one_on_a_grid(target_kind, t):
    if target_kind == "mixture":
        target = _mixture()
    else:
        target = analytic.empirical_target(randn(4, 2, seed=5))
    g = torch.linspace(-8, 8, 401, dtype=torch.float64)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    pts = torch.stack([xx.ravel(), yy.ravel()], dim=1)
    mass = target.log_prob(pts, t).exp().sum().item() * (g[1] - g[0]).item() ** 2
    assert mass == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", [0.0, 0.4, 0.9])
def test_score_is_the_gradient_of_log_prob(path_name, t):
    target = _mixture(path_name)
    x = randn(10, 2, seed=6, scale=1.5).requires_grad_(True)
    (grad,) = torch.autograd.grad(target.log_prob(x, t).sum(), x)
    np.testing.assert_allclose(
        target.score(x.detach(), t).numpy(), grad.numpy(), rtol=1e-9, atol=1e-10
    )


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", [0.2, 0.5, 0.8])
def test_velocity_solves_the_continuity_equation(path_name, t):
    """d/dt log p_t + div u_t + u_t . grad log p_t = 0, every term by finite differences."""
    target = _mixture(path_name)
    x = randn(12, 2, seed=7, scale=1.5)
    h = 1e-5
    dlogp_dt = (target.log_prob(x, t + h) - target.log_prob(x, t - h)) / (2 * h)
    div = torch.zeros(12, dtype=torch.float64)
    grad_logp = torch.zeros(12, 2, dtype=torch.float64)
    for i in range(2):
        e = torch.zeros(1, 2, dtype=torch.float64)
        e[0, i] = h
        div += (target.velocity(x + e, t)[:, i] - target.velocity(x - e, t)[:, i]) / (2 * h)
        grad_logp[:, i] = (target.log_prob(x + e, t) - target.log_prob(x - e, t)) / (2 * h)
    residual = dlogp_dt + div + (target.velocity(x, t) * grad_logp).sum(1)
    scale = dlogp_dt.abs() + div.abs() + 1
    assert (residual.abs() / scale).max() < 1e-6, residual


def test_sample_moments_match_the_mixture():
    target = _mixture()
    x = target.sample(200_000, torch.Generator().manual_seed(0)).double().numpy()
    w, m, c = WEIGHTS.numpy(), MEANS.numpy(), COVS.numpy()
    mean = (w[:, None] * m).sum(0)
    cov = sum(
        wj * (cj + np.outer(mj - mean, mj - mean)) for wj, mj, cj in zip(w, m, c, strict=True)
    )
    np.testing.assert_allclose(x.mean(0), mean, atol=0.01)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.01)


def test_empirical_target_samples_its_points():
    pts = randn(3, 2, seed=8, scale=1.5)
    x = analytic.empirical_target(pts).sample(500, torch.Generator().manual_seed(0)).double()
    dist = torch.cdist(x, pts).min(dim=1).values
    assert dist.max() < 1e-6  # float32 round trip


def test_isotropic_covs_and_weights_arguments():
    iso = analytic.GaussianMixture(MEANS, torch.tensor([0.5, 2.0]), None)
    full = analytic.GaussianMixture(
        MEANS, torch.stack([0.5 * torch.eye(2), 2.0 * torch.eye(2)]).double(), None
    )
    x = randn(5, 2, scale=1.5)
    torch.testing.assert_close(iso.log_prob(x, 0.6), full.log_prob(x, 0.6))
    with pytest.raises(ValueError, match="covs"):
        analytic.GaussianMixture(MEANS, torch.ones(3))
    with pytest.raises(ValueError, match="weights"):
        analytic.GaussianMixture(MEANS, None, torch.tensor([0.5, -0.1]))
    with pytest.raises(ValueError, match="positive semi-definite"):
        analytic.gaussian_target(MEANS[0], -torch.eye(2, dtype=torch.float64))


# --- Gaussian W2 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "m1, s1, m2, s2", [(0.0, 1.0, 0.0, 1.0), (1.0, 0.5, -2.0, 3.0), (0.3, 2.0, 0.3, 0.1)]
)
def test_gaussian_w2_in_1d(m1, s1, m2, s2):
    """W2(N(m1, s1^2), N(m2, s2^2)) = sqrt((m1 - m2)^2 + (s1 - s2)^2)."""
    val = analytic.gaussian_w2(
        torch.tensor([m1]), torch.tensor([[s1**2]]), torch.tensor([m2]), torch.tensor([[s2**2]])
    )
    assert val == pytest.approx(np.hypot(m1 - m2, s1 - s2), rel=1e-6, abs=1e-7)


def test_gaussian_w2_with_commuting_covariances():
    """Diagonal covariances: W2^2 = |m1 - m2|^2 + ||S1^1/2 - S2^1/2||_F^2."""
    d1, d2 = np.array([0.5, 2.0, 1.0]), np.array([3.0, 0.2, 1.0])
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 0.0])
    val = analytic.gaussian_w2(
        torch.tensor(m1), torch.tensor(np.diag(d1)), torch.tensor(m2), torch.tensor(np.diag(d2))
    )
    ref = np.sqrt(np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2))
    assert val == pytest.approx(ref, rel=1e-10)


def _w2_2x2(m1, s1, m2, s2) -> float:
    """Gaussian W2 in 2-D without any matrix square root: for a 2 x 2 positive semi-definite M,
    tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) (the eigenvalues l1, l2 give (sqrt l1 + sqrt l2)^2 =
    l1 + l2 + 2 sqrt(l1 l2)). With M = S2^1/2 S1 S2^1/2: tr M = tr(S1 S2), det M = det S1 det S2."""
    cross = np.sqrt(np.trace(s1 @ s2) + 2 * np.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    return float(np.sqrt(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross))


@pytest.mark.parametrize("seed", range(5))
def test_gaussian_w2_matches_the_2x2_trace_identity(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    s1, s2 = a @ a.T + 0.05 * np.eye(2), b @ b.T + 0.05 * np.eye(2)
    m1, m2 = rng.normal(size=2), rng.normal(size=2)
    val = analytic.gaussian_w2(*(torch.tensor(v) for v in (m1, s1, m2, s2)))
    assert val == pytest.approx(_w2_2x2(m1, s1, m2, s2), rel=1e-9)


def test_gaussian_w2_matches_the_2x2_identity_and_pot_on_samples():
    m1, m2 = np.array([0.0, 0.0]), np.array([2.0, 1.0])
    s1 = np.array([[1.0, 0.6], [0.6, 0.8]])
    s2 = np.array([[0.3, -0.2], [-0.2, 1.5]])
    val = analytic.gaussian_w2(
        torch.tensor(m1), torch.tensor(s1), torch.tensor(m2), torch.tensor(s2)
    )
    assert val == pytest.approx(_w2_2x2(m1, s1, m2, s2), rel=1e-9)
    rng = np.random.default_rng(0)
    n = 1000
    a, b = rng.multivariate_normal(m1, s1, n), rng.multivariate_normal(m2, s2, n)
    w = np.full(n, 1 / n)
    empirical = np.sqrt(pot.emd2(w, w, pot.dist(a, b), numItermax=10**7))
    assert empirical == pytest.approx(val, rel=0.05)


# ---------- Section 6.3: the empirical target and L_CFM - L_FM -----------------------------------
# Section 6.3: the empirical target's posterior and field, and the constant L_CFM - L_FM.
#
# Referees: Bayes' rule with scipy.stats densities, the general Gaussian-mixture code path with
# full covariance solves, the joint-Gaussian conditional variance derived here by hand, and a
# Monte-Carlo estimate of L_CFM - L_FM for two different fields.


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


# ---------- GaussianDisplacement: Gaussian-to-Gaussian OT (Section 6.2) --------------------------
# fmlib.analytic.GaussianDisplacement: Gaussian-to-Gaussian optimal transport. Section 6.2.
#
# Referees: the push-forward identity A S_0 A = S_1, the Gelbrich formula (``gaussian_w2``, a
# different expression), POT's exact plan on samples, scipy's ``solve_ivp`` for the flow,
# scipy's Gaussian densities, the continuity equation by finite differences, and 1-D sorting.


M_0 = torch.tensor([0.5, -1.0], dtype=torch.float64)
S_0 = torch.tensor([[1.0, 0.3], [0.3, 0.5]], dtype=torch.float64)
M_1 = torch.tensor([2.0, 1.0], dtype=torch.float64)
S_1 = torch.tensor([[0.4, -0.2], [-0.2, 1.5]], dtype=torch.float64)


def _ot():
    return analytic.GaussianDisplacement(M_0, S_0, M_1, S_1)


def test_map_pushes_forward_and_is_a_gradient():
    A = _ot().A
    torch.testing.assert_close(A @ S_0 @ A, S_1, atol=1e-10, rtol=0)
    torch.testing.assert_close(A, A.T)
    assert float(torch.linalg.eigvalsh(A).min()) > 0  # gradient of a convex potential


def test_cost_of_the_map_is_the_gelbrich_w2():
    ot = _ot()
    expected = analytic.gaussian_w2(M_0, S_0, M_1, S_1)
    assert ot.w2() == pytest.approx(expected, rel=1e-10)
    g = torch.Generator().manual_seed(0)
    x = (
        M_0
        + torch.randn(200_000, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(S_0).T
    )
    cost = (ot.transport(x) - x).pow(2).sum(1)
    se = float(cost.std()) / len(x) ** 0.5
    assert abs(float(cost.mean()) - expected**2) < 4 * se


def test_one_dimension_is_the_monotone_rescaling():
    ot = analytic.GaussianDisplacement(
        torch.zeros(1, dtype=torch.float64),
        torch.tensor([[4.0]], dtype=torch.float64),
        torch.ones(1, dtype=torch.float64),
        torch.tensor([[0.25]], dtype=torch.float64),
    )
    assert float(ot.A) == pytest.approx(0.25, rel=1e-12)  # sd ratio 0.5 / 2


def test_map_agrees_with_the_exact_plan_between_samples():
    ot = _ot()
    g = torch.Generator().manual_seed(1)
    n = 1500
    x = M_0 + torch.randn(n, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(S_0).T
    y = M_1 + torch.randn(n, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(S_1).T
    plan = pot.emd(np.full(n, 1 / n), np.full(n, 1 / n), pot.dist(x.numpy(), y.numpy()))
    y_ot = y[torch.from_numpy(plan.argmax(1))]
    gap_ot = (ot.transport(x) - y_ot).norm(dim=1).mean()
    # Another linear map pushing N(m_0, S_0) to N(m_1, S_1) (Cholesky factors) is not optimal:
    other = (
        M_1
        + (x - M_0) @ (torch.linalg.cholesky(S_1) @ torch.linalg.inv(torch.linalg.cholesky(S_0))).T
    )
    gap_other = (other - y_ot).norm(dim=1).mean()
    assert gap_ot < 0.25 < gap_other


def test_velocity_field_flows_to_the_map():
    ot = _ot()
    x_0 = torch.tensor([[0.0, 0.0], [1.0, -2.0], [-1.0, 0.5]], dtype=torch.float64)

    def rhs(t, y):
        return ot(torch.from_numpy(y).reshape(-1, 2), float(t)).reshape(-1).numpy()

    sol = solve_ivp(rhs, (0.0, 1.0), x_0.reshape(-1).numpy(), rtol=1e-10, atol=1e-10)
    end = torch.from_numpy(sol.y[:, -1]).reshape(-1, 2)
    torch.testing.assert_close(end, ot.transport(x_0), atol=1e-7, rtol=0)


def test_log_prob_and_batched_time():
    ot = _ot()
    x = torch.tensor([[0.3, 0.1], [1.5, -0.2]], dtype=torch.float64)
    for t in (0.0, 0.4, 1.0):
        mt = (1 - t) * M_0 + t * M_1
        cov = ot.covariance(t).numpy()
        expected = multivariate_normal(mt.numpy(), cov).logpdf(x.numpy())
        np.testing.assert_allclose(ot.log_prob(x, t).numpy(), expected, rtol=1e-10)
    torch.testing.assert_close(ot.covariance(0.0), S_0)
    torch.testing.assert_close(ot.covariance(1.0), S_1)
    tb = torch.tensor([0.2, 0.7], dtype=torch.float64)
    batched = ot(x, tb)
    torch.testing.assert_close(batched[0], ot(x[:1], 0.2)[0])
    torch.testing.assert_close(batched[1], ot(x[1:], 0.7)[0])


def test_continuity_equation_on_a_grid():
    ot = _ot()
    h, dt, t = 0.02, 1e-4, 0.5
    xs = torch.arange(-3.0, 5.0, h, dtype=torch.float64)
    ys = torch.arange(-4.0, 4.0, h, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="ij")
    pts = torch.stack([gx.flatten(), gy.flatten()], 1)
    p = ot.log_prob(pts, t).exp().reshape(gx.shape)
    dp_dt = (ot.log_prob(pts, t + dt).exp() - ot.log_prob(pts, t - dt).exp()).reshape(gx.shape) / (
        2 * dt
    )
    flux = p[..., None] * ot(pts, t).reshape(*gx.shape, 2)
    div = (
        torch.gradient(flux[..., 0], spacing=h, dim=0)[0]
        + torch.gradient(flux[..., 1], spacing=h, dim=1)[0]
    )
    residual = (dp_dt + div).abs().max() / dp_dt.abs().max()
    assert residual < 1e-3


@pytest.mark.parametrize(
    "args, error",
    [
        (([0.0, 0.0], S_0, M_1, S_1), TypeError),
        ((M_0, S_0, torch.zeros(3, dtype=torch.float64), S_1), ValueError),
        ((M_0, torch.eye(3, dtype=torch.float64), M_1, S_1), ValueError),
        ((M_0, torch.zeros(2, 2, dtype=torch.float64), M_1, S_1), ValueError),
        ((M_0, S_0, M_1, torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=torch.float64)), ValueError),
    ],
)
def test_bad_input(args, error):
    with pytest.raises(error):
        analytic.GaussianDisplacement(*args)
