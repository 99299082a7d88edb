"""fmlib.analytic.GaussianDisplacement: Gaussian-to-Gaussian optimal transport. Section 6.2.

Referees: the push-forward identity A S_0 A = S_1, the Gelbrich formula (``gaussian_w2``, a
different expression), POT's exact plan on samples, scipy's ``solve_ivp`` for the flow,
scipy's Gaussian densities, the continuity equation by finite differences, and 1-D sorting.
"""

from __future__ import annotations

import numpy as np
import ot as pot
import pytest
import torch
from scipy.integrate import solve_ivp
from scipy.stats import multivariate_normal

from fmlib import analytic

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
