"""fmlib.likelihood: divergences (exact and Hutchinson) and the exact log-likelihood of a flow.

Referees: the trace of a known matrix, finite-difference Jacobians, the closed-form variances of
Hutchinson's estimator, and scipy's Gaussian density of an affine flow's push-forward.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import randn
from scipy.linalg import expm
from scipy.stats import multivariate_normal

from fmlib import analytic, likelihood, paths

DIMS = [1, 2, 3, 5]


def _matrix(d, seed=0, symmetric=False):
    a = np.random.default_rng(seed).normal(size=(d, d)) * 0.6
    return (a + a.T) / 2 if symmetric else a


def affine_field(a: np.ndarray, b: np.ndarray):
    at, bt = torch.tensor(a), torch.tensor(b)
    return lambda x, t: x @ at.T + bt


def nonlinear_field(x, t):
    t = torch.as_tensor(t, dtype=x.dtype)
    t = t[:, None] if t.ndim == 1 else t  # a (B,) t: one time per row
    d = x.shape[1]
    w = torch.linspace(-1, 1, d * d, dtype=x.dtype).reshape(d, d) + torch.eye(d, dtype=x.dtype)
    return torch.tanh(x @ w.T + t) * (1 + x.roll(1, dims=1) ** 2) + torch.sin(x) * t


def fd_divergence(v, x, t, h=1e-6):
    """Trace of the central finite-difference Jacobian (float64)."""
    div = torch.zeros(x.shape[0], dtype=x.dtype)
    for i in range(x.shape[1]):
        e = torch.zeros_like(x)
        e[:, i] = h
        div += (v(x + e, t)[:, i] - v(x - e, t)[:, i]) / (2 * h)
    return div


# --- divergence -------------------------------------------------------------------------------


@pytest.mark.parametrize("d", DIMS)
def test_exact_divergence_of_linear_field_is_trace(d):
    a = _matrix(d, seed=d)
    div = likelihood.divergence_exact(affine_field(a, np.ones(d)), randn(7, d), 0.3)
    assert div.shape == (7,)
    np.testing.assert_allclose(div.numpy(), np.trace(a), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("t", [0.0, 0.4, 1.0])
def test_exact_divergence_of_nonlinear_field_matches_finite_differences(d, t):
    x = randn(9, d, seed=1)
    np.testing.assert_allclose(
        likelihood.divergence_exact(nonlinear_field, x, t).numpy(),
        fd_divergence(nonlinear_field, x, t).numpy(),
        rtol=1e-6,
        atol=1e-7,
    )


def test_divergence_with_per_sample_times():
    x = randn(5, 2)
    t = torch.tensor([0.0, 0.2, 0.5, 0.7, 1.0], dtype=torch.float64)
    div = likelihood.divergence_exact(nonlinear_field, x, t)
    for b in range(5):
        ref = fd_divergence(nonlinear_field, x[b : b + 1], float(t[b]))
        np.testing.assert_allclose(div[b].item(), ref.item(), rtol=1e-6)


def test_constant_field_has_zero_divergence():
    v = lambda x, t: torch.ones_like(x)  # does not depend on x at all: no autograd graph
    x = randn(4, 3)
    assert torch.equal(likelihood.divergence_exact(v, x, 0.5), torch.zeros(4, dtype=torch.float64))
    assert torch.equal(
        likelihood.divergence_hutchinson(v, x, 0.5, k=3), torch.zeros(4, dtype=torch.float64)
    )


def test_create_graph_gives_second_derivatives():
    """div of v(x) = x^3 (elementwise) is 3 sum x^2, whose gradient is 6 x."""
    x = randn(4, 3).requires_grad_(True)
    div = likelihood.divergence_exact(lambda x, t: x**3, x, 0.5, create_graph=True)
    np.testing.assert_allclose(
        div.detach().numpy(), 3 * (x.detach() ** 2).sum(1).numpy(), rtol=1e-12
    )
    (g,) = torch.autograd.grad(div.sum(), x)
    np.testing.assert_allclose(g.numpy(), 6 * x.detach().numpy(), rtol=1e-12)


# --- Hutchinson ---------------------------------------------------------------------------------


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
@pytest.mark.parametrize("d", [2, 5])
def test_hutchinson_mean_converges_to_exact(probe, d):
    """Many independent single-probe estimates (one per repeated row) average to the exact value."""
    n = 40_000
    base = randn(3, d, seed=2)
    x = base.repeat_interleave(n // 4, dim=0)[: 3 * (n // 4)]
    est = likelihood.divergence_hutchinson(
        nonlinear_field, x, 0.6, k=1, probe=probe, generator=torch.Generator().manual_seed(0)
    )
    exact = fd_divergence(nonlinear_field, base, 0.6).numpy()
    est = est.reshape(3, -1).numpy()
    se = est.std(axis=1, ddof=1) / np.sqrt(est.shape[1])
    assert (np.abs(est.mean(axis=1) - exact) < 5 * se + 1e-9).all(), (est.mean(axis=1), exact, se)


@pytest.mark.slow
@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_hutchinson_return_samples_and_mean(probe):
    x = randn(6, 3)
    g = lambda: torch.Generator().manual_seed(5)
    samples = likelihood.divergence_hutchinson(
        nonlinear_field, x, 0.3, k=7, probe=probe, generator=g(), return_samples=True
    )
    assert samples.shape == (7, 6)
    mean = likelihood.divergence_hutchinson(
        nonlinear_field, x, 0.3, k=7, probe=probe, generator=g()
    )
    torch.testing.assert_close(mean, samples.mean(0))


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("d", [2, 4])
def test_hutchinson_variances_match_closed_forms(symmetric, d):
    """For v(x) = A x: eps^T A eps = eps^T S eps with S = (A + A^T)/2, and
    Var_gauss = 2 ||S||_F^2, Var_rad = 2 (||S||_F^2 - sum_i s_ii^2)."""
    a = _matrix(d, seed=10 + d, symmetric=symmetric)
    s = (a + a.T) / 2
    var_gauss = 2 * (s**2).sum()
    var_rad = 2 * ((s**2).sum() - (np.diag(s) ** 2).sum())
    x = randn(50_000, d, seed=3)
    v = affine_field(a, np.zeros(d))
    gen = torch.Generator().manual_seed(1)
    est_g = likelihood.divergence_hutchinson(v, x, 0.5, probe="gaussian", generator=gen).numpy()
    est_r = likelihood.divergence_hutchinson(v, x, 0.5, probe="rademacher", generator=gen).numpy()
    np.testing.assert_allclose(est_g.mean(), np.trace(a), atol=5 * np.sqrt(var_gauss / x.shape[0]))
    np.testing.assert_allclose(
        est_r.mean(), np.trace(a), atol=5 * np.sqrt(var_rad / x.shape[0]) + 1e-12
    )
    np.testing.assert_allclose(est_g.var(ddof=1), var_gauss, rtol=0.06)
    np.testing.assert_allclose(est_r.var(ddof=1), var_rad, rtol=0.06)
    assert est_r.var() < est_g.var()


def test_rademacher_is_exact_for_a_diagonal_jacobian():
    a = np.diag([0.5, -2.0, 3.0])
    est = likelihood.divergence_hutchinson(
        affine_field(a, np.zeros(3)), randn(100, 3), 0.5, probe="rademacher"
    )
    np.testing.assert_allclose(est.numpy(), 1.5, rtol=1e-12)


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_hutchinson_variance_falls_as_one_over_k(probe):
    """The mean of k probes: unbiased, with the closed-form variance of one probe divided by k.

    Tolerances from the sampling error of 20 000 estimates: 5 standard errors for the mean, 6 %
    for a sample variance (its relative standard error here is about 1-2 %). Averaging over k - 1
    instead of k would bias the mean by 1/15 and the variance by 14 %."""
    a = _matrix(3, seed=4)
    s = (a + a.T) / 2
    var_one = 2 * (s**2).sum() - (2 * (np.diag(s) ** 2).sum() if probe == "rademacher" else 0)
    v = affine_field(a, np.zeros(3))
    x = randn(20_000, 3, seed=4)
    gen = torch.Generator().manual_seed(2)
    for k in (1, 16):
        est = likelihood.divergence_hutchinson(v, x, 0.5, k=k, probe=probe, generator=gen).numpy()
        se = np.sqrt(var_one / k / len(est))
        np.testing.assert_allclose(est.mean(), np.trace(a), atol=5 * se)
        np.testing.assert_allclose(est.var(ddof=1), var_one / k, rtol=0.06)


# --- log-likelihood -----------------------------------------------------------------------------


def affine_pushforward(a: np.ndarray, b: np.ndarray):
    """N(0, I) pushed through dx/dt = A x + b for t in [0, 1]: N(c, e^A e^A^T).

    c = int_0^1 e^{A u} du b, read off the matrix exponential of [[A, b], [0, 0]].
    """
    d = a.shape[0]
    m = np.zeros((d + 1, d + 1))
    m[:d, :d], m[:d, d] = a, b
    big = expm(m)
    phi, c = big[:d, :d], big[:d, d]
    return c, phi @ phi.T


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize(
    "method, kw, tol",
    [("dopri5", {"rtol": 1e-9, "atol": 1e-9}, 1e-6), ("rk4", {"steps": 40}, 1e-5)],
)
def test_log_prob_of_affine_flow_matches_scipy(d, method, kw, tol):
    a, b = _matrix(d, seed=20 + d), np.linspace(-1, 1, d)
    mean, cov = affine_pushforward(a, b)
    x_1 = torch.tensor(np.random.default_rng(d).multivariate_normal(mean, cov, size=16))
    ours = likelihood.log_prob(affine_field(a, b), x_1, method=method, **kw).numpy()
    ref = np.atleast_1d(multivariate_normal(mean, cov).logpdf(x_1.numpy()))
    np.testing.assert_allclose(ours, ref, atol=tol, rtol=0)


def test_log_prob_of_constant_field_is_a_shifted_gaussian():
    b = np.array([1.0, -2.0])
    x_1 = randn(5, 2)
    ours = likelihood.log_prob(
        lambda x, t: torch.tensor(b).expand_as(x), x_1, method="euler", steps=3
    )
    np.testing.assert_allclose(
        ours.numpy(), multivariate_normal(b, np.eye(2)).logpdf(x_1.numpy()), rtol=1e-12
    )


def test_hutchinson_log_prob_is_unbiased():
    a, b = _matrix(2, seed=7), np.array([0.3, -0.2])
    mean, cov = affine_pushforward(a, b)
    point = torch.tensor([[0.5, -0.4]], dtype=torch.float64)
    exact = multivariate_normal(mean, cov).logpdf(point[0].numpy())
    x_1 = point.repeat(4000, 1)
    est = likelihood.log_prob(
        affine_field(a, b),
        x_1,
        method="rk4",
        steps=8,
        divergence="hutchinson",
        generator=torch.Generator().manual_seed(0),
    ).numpy()
    se = est.std(ddof=1) / np.sqrt(est.size)
    assert est.std() > 0.01  # the estimate is noisy per sample ...
    assert abs(est.mean() - exact) < 5 * se + 1e-4  # ... but unbiased


@pytest.mark.parametrize("path_name", ["linear", "cosine"])
def test_log_prob_with_exact_gaussian_velocity_is_the_gaussian_density(path_name):
    path = {"linear": paths.linear_path, "cosine": paths.cosine_path}[path_name]()
    mean = torch.tensor([1.0, -0.5], dtype=torch.float64)
    cov = torch.tensor([[0.6, 0.25], [0.25, 0.4]], dtype=torch.float64)
    target = analytic.gaussian_target(mean, cov, path)
    x_1 = torch.tensor(
        np.random.default_rng(0).multivariate_normal(mean.numpy(), cov.numpy(), size=8)
    )
    ours = likelihood.log_prob(target, x_1, method="dopri5", rtol=1e-8, atol=1e-8).numpy()
    ref = multivariate_normal(mean.numpy(), cov.numpy()).logpdf(x_1.numpy())
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_log_prob_gradient_wrt_parameters_matches_finite_differences():
    """create_graph=True: d log p / d A by autograd through the solve, against central differences."""
    a0, b = _matrix(2, seed=8), np.array([0.2, 0.1])
    x_1 = randn(6, 2, seed=8)

    class Linear(torch.nn.Module):
        def __init__(self, a):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(a))

        def forward(self, x, t):
            return x @ self.a.T + torch.tensor(b)

    def total(a):
        return likelihood.log_prob(Linear(a), x_1, method="rk4", steps=10, create_graph=True).sum()

    model = Linear(a0)
    (grad,) = torch.autograd.grad(
        likelihood.log_prob(model, x_1, method="rk4", steps=10, create_graph=True).sum(), model.a
    )
    h = 1e-6
    fd = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            e = np.zeros((2, 2))
            e[i, j] = h
            fd[i, j] = (total(a0 + e).item() - total(a0 - e).item()) / (2 * h)
    np.testing.assert_allclose(grad.numpy(), fd, rtol=1e-5, atol=1e-6)


def test_augmented_field_stacks_velocity_and_divergence():
    a, b = _matrix(3, seed=9), np.ones(3)
    z = torch.cat([randn(4, 3), torch.zeros(4, 1, dtype=torch.float64)], dim=1)
    out = likelihood.augmented_field(affine_field(a, b))(z, 0.5)
    assert out.shape == (4, 4)
    np.testing.assert_allclose(out[:, :3].numpy(), z[:, :3].numpy() @ a.T + b, rtol=1e-12)
    np.testing.assert_allclose(out[:, 3].numpy(), np.trace(a), rtol=1e-12)
    with pytest.raises(ValueError, match="divergence"):
        likelihood.augmented_field(affine_field(a, b), divergence="trace")


def test_hutchinson_argument_errors():
    x = randn(3, 2)
    with pytest.raises(ValueError, match="probe"):
        likelihood.divergence_hutchinson(nonlinear_field, x, 0.5, probe="uniform")
    with pytest.raises(ValueError, match="k must"):
        likelihood.divergence_hutchinson(nonlinear_field, x, 0.5, k=0)


# --------------------------------------------------------------------------------------------
# log p along a flow (one owner, either direction in time) and running Hutchinson means
# --------------------------------------------------------------------------------------------


def _pushed_gaussian_log_p(a: np.ndarray, t: float, x: torch.Tensor) -> np.ndarray:
    """log density at time t of N(0, I) pushed by dx/dt = A x: N(0, M M^T), M = expm(A t)."""
    m = expm(a * t)
    return multivariate_normal(np.zeros(len(a)), m @ m.T).logpdf(x.numpy())


@pytest.mark.parametrize("t0,t1", [(0.0, 1.0), (0.2, 0.7), (1.0, 0.0)])
def test_log_density_along_flow_matches_the_pushed_gaussian(t0, t1):
    a = _matrix(2, seed=4)
    v = affine_field(a, np.zeros(2))
    # points at t0 drawn from p_t0 = N(0, M_t0 M_t0^T); their density known at the start
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = x @ torch.tensor(expm(a * t0)).T

    def log_p_t0(y):
        return torch.tensor(_pushed_gaussian_log_p(a, t0, y))

    flow = likelihood.log_density_along_flow(v, x, log_p_t0, t0=t0, t1=t1, steps=40)
    assert flow.xs.shape == (41, 64, 2) and flow.log_p.shape == (41, 64)
    for k in (0, 17, 40):
        expected = _pushed_gaussian_log_p(a, float(flow.ts[k]), flow.xs[k])
        np.testing.assert_allclose(flow.log_p[k].numpy(), expected, atol=1e-6)


def test_log_density_along_flow_with_the_density_known_at_the_end():
    a = _matrix(3, seed=5)
    v = affine_field(a, np.zeros(3))
    x_1 = torch.randn(32, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def log_p_0(y):
        return torch.tensor(_pushed_gaussian_log_p(a, 0.0, y))

    flow = likelihood.log_density_along_flow(
        v, x_1, log_p_0, t0=1.0, t1=0.0, known_at="end", steps=40, return_trajectory=False
    )
    assert flow.log_p.shape == (2, 32)
    np.testing.assert_allclose(
        flow.log_p[0].numpy(), _pushed_gaussian_log_p(a, 1.0, x_1), atol=1e-6
    )
    # log_prob is the same computation from the data side
    np.testing.assert_allclose(
        likelihood.log_prob(v, x_1, method="rk4", steps=40).numpy(),
        flow.log_p[0].numpy(),
        atol=1e-9,
    )
    with pytest.raises(ValueError, match="known_at"):
        likelihood.log_density_along_flow(v, x_1, log_p_0, known_at="middle")
    with pytest.raises(TypeError, match="log-density"):
        likelihood.log_density_along_flow(v, x_1, "N(0, I)")


def test_hutchinson_running_mean_is_the_mean_of_the_first_k_quadratic_forms():
    a = _matrix(3, seed=6)
    v = affine_field(a, np.zeros(3))
    x = torch.randn(10, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    running = likelihood.hutchinson_running_mean(
        v, x, 0.5, 8, "gaussian", torch.Generator().manual_seed(9)
    )
    # the same probes drawn here: eps^T A eps by hand, then the mean of the first k
    gen = torch.Generator().manual_seed(9)
    eps = torch.stack([torch.randn(x.shape, generator=gen, dtype=x.dtype) for _ in range(8)])
    forms = torch.einsum("kbi,ij,kbj->kb", eps, torch.tensor(a), eps)  # (8, 10)
    for k in (1, 3, 8):
        np.testing.assert_allclose(running[k - 1].numpy(), forms[:k].mean(0).numpy(), atol=1e-10)
