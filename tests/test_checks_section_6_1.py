"""The Section 6.1 problem-set checks: right answers pass on many seeds, plausible wrong ones get
the hint that names their mistake, and fmlib's likelihood functions are no shortcut."""

from __future__ import annotations

import math

import pytest
import torch

import fmlib as fm
from fmlib import checks


def rotating_cnf_log_prob(x_1, a, omega):
    """In the rotating frame y = R_t^T x the field is (A - omega) y: M = expm(omega) expm(A - omega),
    log|det M| = tr A."""
    m_inv = torch.linalg.matrix_exp(-(a - omega)) @ torch.linalg.matrix_exp(-omega)
    x_0 = x_1 @ m_inv.T
    d = x_1.shape[1]
    return -0.5 * x_0.pow(2).sum(1) - 0.5 * d * math.log(2 * math.pi) - torch.trace(a)


def rotating_cnf_numerical(x_1, a, omega):
    """A different route: integrate the flow backwards with RK4 and the log-determinant as the
    time integral of tr A(t) = tr A (Liouville)."""
    n = 400
    h = 1.0 / n
    x = x_1.clone()

    def field(x, t):
        r = torch.linalg.matrix_exp(t * omega)
        return x @ (r @ a @ r.T).T

    for i in range(n):
        t = 1.0 - i * h
        k1 = field(x, t)
        k2 = field(x - h / 2 * k1, t - h / 2)
        k3 = field(x - h / 2 * k2, t - h / 2)
        k4 = field(x - h * k3, t - h)
        x = x - h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    d = x_1.shape[1]
    return -0.5 * x.pow(2).sum(1) - 0.5 * d * math.log(2 * math.pi) - torch.trace(a)


def _log_prob(m, x_1):
    x_0 = x_1 @ torch.linalg.inv(m).T
    d = x_1.shape[1]
    return (
        -0.5 * x_0.pow(2).sum(1)
        - 0.5 * d * math.log(2 * math.pi)
        - torch.linalg.slogdet(m).logabsdet
    )


def euler_log_density(v, x, log_p, steps):
    h = 1.0 / steps
    for i in range(steps):
        t = i * h
        xg = x.detach().requires_grad_(True)
        out = v(xg, t)
        jac = torch.stack(
            [
                torch.autograd.grad(out[:, j].sum(), xg, retain_graph=True)[0]
                for j in range(x.shape[1])
            ],
            1,
        )
        div = torch.diagonal(jac, dim1=1, dim2=2).sum(1)
        x, log_p = x + h * out.detach(), log_p - h * div
    return log_p


def rademacher(vjp, d, k, generator):
    total = 0
    for _ in range(k):
        eps = torch.randint(0, 2, (3, d), generator=generator).double() * 2 - 1
        total = total + (vjp(eps) * eps).sum(1)
    return total / k


def spherical(vjp, d, k, generator):
    """A different design: Gaussian probes rescaled to norm sqrt(D)."""
    total = 0
    for _ in range(k):
        eps = torch.randn(3, d, generator=generator, dtype=torch.float64)
        eps = eps / eps.norm(dim=1, keepdim=True) * d**0.5
        total = total + (vjp(eps) * eps).sum(1)
    return total / k


def gaussian(vjp, d, k, generator):
    total = 0
    for _ in range(k):
        eps = torch.randn(3, d, generator=generator, dtype=torch.float64)
        total = total + (vjp(eps) * eps).sum(1)
    return total / k


def test_right_answers_pass_on_many_seeds():
    for seed in range(25):
        result = checks.check_rotating_cnf_log_prob(rotating_cnf_log_prob, seed=seed, quiet=True)
        assert result, result.message
    for seed in range(3):
        result = checks.check_rotating_cnf_log_prob(rotating_cnf_numerical, seed=seed, quiet=True)
        assert result, result.message
    for seed in range(10):
        assert checks.check_euler_log_density(euler_log_density, seed=seed, quiet=True)


@pytest.mark.parametrize("design", [rademacher, spherical])
def test_two_different_estimators_pass(design):
    for seed in range(4):
        result = checks.check_divergence_estimator(design, seed=seed, quiet=True)
        assert result, result.message


WRONG = [
    (
        checks.check_rotating_cnf_log_prob,
        lambda x, a, w: _log_prob(torch.linalg.matrix_exp(a), x),
        "rotation R_t of the field is missing",
    ),
    (
        checks.check_rotating_cnf_log_prob,
        lambda x, a, w: _log_prob(torch.linalg.matrix_exp(a - w) @ torch.linalg.matrix_exp(w), x),
        "wrong order",
    ),
    (
        checks.check_rotating_cnf_log_prob,
        lambda x, a, w: _log_prob(torch.linalg.matrix_exp(w) @ torch.linalg.matrix_exp(a), x),
        "differentiate R_t^T too",
    ),
    (
        checks.check_rotating_cnf_log_prob,
        lambda x, a, w: rotating_cnf_log_prob(x, a, w) + 2 * torch.trace(a),
        "sign of the log-determinant",
    ),
    (
        checks.check_euler_log_density,
        lambda v, x, lp, n: 2 * lp - euler_log_density(v, x, lp, n),
        "wrong sign",
    ),
    (checks.check_euler_log_density, lambda v, x, lp, n: lp.clone(), "did not change"),
    (checks.check_divergence_estimator, gaussian, "0.5 x"),
    (
        checks.check_divergence_estimator,
        lambda vjp, d, k, g: 2 * rademacher(vjp, d, k, g),
        "biased",
    ),
    (
        checks.check_divergence_estimator,
        lambda vjp, d, k, g: sum(vjp(torch.eye(d)[i].expand(3, d))[:, i] for i in range(d)),
        "more than k = 4",
    ),
]


@pytest.mark.parametrize(
    "check, answer, hint", WRONG, ids=lambda x: x if isinstance(x, str) else ""
)
def test_wrong_answers_fail_with_the_right_hint(check, answer, hint):
    for seed in (0, 1):
        result = check(answer, seed=seed, quiet=True)
        assert not result and hint in result.message, result.message


SHORTCUTS = [
    (
        checks.check_divergence,
        lambda v, x, t: fm.likelihood.divergence_exact(v, x, t),
        "fm.likelihood.divergence_exact",
    ),
    (
        checks.check_euler_log_density,
        lambda v, x, lp, n: lp - fm.likelihood.divergence_exact(v, x, 0.0),
        "fm.likelihood.divergence_exact",
    ),
]


@pytest.mark.parametrize(
    "check, answer, name", SHORTCUTS, ids=lambda x: x if isinstance(x, str) else ""
)
def test_fmlib_shortcut_is_refused(check, answer, name):
    result = check(answer, seed=0, quiet=True)
    assert not result and name in result.message, result.message
