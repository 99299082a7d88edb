"""Checks for the exercises of Section 6.1: the divergence, exact and by Hutchinson's estimator."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..i18n import t as _t
from ._core import (
    Case,
    CheckResult,
    StudentError,
    as_tensor,
    jacobians,
    linear_field,
    nonlinear_field,
    random_batch,
    run_check,
    shaped,
    student_call,
)

_LIKELIHOOD = (
    "fmlib.likelihood.divergence_exact",
    "fmlib.likelihood.divergence_hutchinson",
    "fmlib.likelihood.log_density_along_flow",
    "fmlib.likelihood.log_prob",
    "fmlib.likelihood.augmented_field",
)


def _field_cases(g: torch.Generator, probes: bool) -> list[Case]:
    """A linear and a tanh field at three random (B, D, t); with ``probes``, one eps: (B, D) each.

    The reference is tr(dv/dx), or eps^T (dv/dx) eps with probes; dv/dx is (1 + t) A in closed
    form for the linear field and autograd's for the tanh field.
    """
    out = []
    for _ in range(3):
        b, d = random_batch(g)
        t = float(torch.rand((), generator=g))
        x = torch.randn(b, d, generator=g, dtype=torch.float64)
        eps = torch.randn(b, d, generator=g, dtype=torch.float64) if probes else None
        v, a = linear_field(g, d)
        w = nonlinear_field(g, d)
        for label, field, jacobian in (
            (_t("linear field, D = {d}", d=d), v, ((1 + t) * a).expand(b, d, d)),
            (_t("tanh field, D = {d}", d=d), w, jacobians(w, x, t)),
        ):
            if probes:
                ref = torch.einsum("bi,bij,bj->b", eps, jacobian, eps)
                out.append(Case(label, (field, x, t, eps), ref))
            else:
                ref = torch.diagonal(jacobian, dim1=1, dim2=2).sum(1)
                out.append(Case(label, (field, x, t), ref))
    return out


def check_divergence(
    divergence: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``divergence(v, x, t) -> (B,)``, the exact div v by autograd. Section 6.1.2."""
    return run_check(
        "divergence",
        divergence,
        lambda g: _field_cases(g, probes=False),
        seed,
        quiet,
        _t("It costs D backward passes."),
        withheld=_LIKELIHOOD,
    )


def check_hutchinson(
    hutchinson: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``hutchinson(v, x, t, eps) -> (B,)``: eps^T (dv/dx) eps for given probes eps: (B, D). Section 6.1.2."""
    return run_check(
        "hutchinson",
        hutchinson,
        lambda g: _field_cases(g, probes=True),
        seed,
        quiet,
        _t("One backward pass, whatever D."),
        withheld=_LIKELIHOOD,
    )


# The problem set of Section 6.1: a flow map integrated by scipy (a linear field in a rotating frame), an
# Euler scheme written out, and a statistical judge for the open estimator task.


def _rotating_flow_map(a: Tensor, omega: Tensor) -> Tensor:
    """The flow map from t = 0 to 1 of dx/dt = R_t A R_t^T x, R_t = expm(t omega), integrated as the
    matrix ODE dPhi/dt = A(t) Phi with scipy's solve_ivp (DOP853, tolerances 1e-12): no closed form."""
    import numpy as np
    import scipy.integrate
    import scipy.linalg

    d = a.shape[0]
    a_np, w_np = a.numpy(), omega.numpy()

    def rhs(t, phi):
        r = scipy.linalg.expm(t * w_np)
        return (r @ a_np @ r.T @ phi.reshape(d, d)).ravel()

    sol = scipy.integrate.solve_ivp(
        rhs, (0.0, 1.0), np.eye(d).ravel(), method="DOP853", rtol=1e-12, atol=1e-12
    )
    return torch.as_tensor(sol.y[:, -1].reshape(d, d), dtype=torch.float64)


def _log_prob_through(m: Tensor, x_1: Tensor) -> Tensor:
    """log p_1(x_1) for x_1 = M x_0, x_0 ~ N(0, I): a Gaussian of covariance M M^T (scipy)."""
    import numpy as np
    import scipy.stats

    d = m.shape[0]
    cov = (m @ m.T).numpy()
    logp = scipy.stats.multivariate_normal(np.zeros(d), cov).logpdf(x_1.numpy())
    return torch.as_tensor(np.atleast_1d(logp), dtype=torch.float64)


def _skew(g, d: int) -> Tensor:
    w = torch.randn(d, d, generator=g, dtype=torch.float64)
    return 1.5 * (w - w.T) / d**0.5


def check_rotating_cnf_log_prob(
    rotating_cnf_log_prob: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``rotating_cnf_log_prob(x_1, a, omega) -> (B,)``: log p_1 of the CNF dx/dt = R_t A R_t^T x,
    R_t = expm(t omega) with omega antisymmetric, started from N(0, I) at t = 0. Section 6.1.1.

    The reference integrates the flow map numerically (scipy's DOP853 on the matrix ODE) and
    takes the Gaussian log-density through it (scipy); no closed form is used."""
    import scipy.linalg

    def cases(g):
        out = []
        for _ in range(3):
            b = int(torch.randint(3, 9, (), generator=g))
            d = int(torch.randint(2, 5, (), generator=g))
            a = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
            omega = _skew(g, d)
            x_1 = 1.5 * torch.randn(b, d, generator=g, dtype=torch.float64)
            ref = _log_prob_through(_rotating_flow_map(a, omega), x_1)
            out.append(Case(_t("D = {d}", d=d), (x_1, a, omega), ref))
        return out

    def expm(m: Tensor) -> Tensor:
        return torch.as_tensor(scipy.linalg.expm(m.numpy()))

    def hints(out, case):
        x_1, a, omega = case.inputs
        got = shaped(out, (x_1.shape[0],))
        if got is None:
            return None
        if torch.allclose(got, _log_prob_through(expm(a), x_1)):
            return _t("that is the flow of dx/dt = A x: the rotation R_t of the field is missing")
        if torch.allclose(got, _log_prob_through(expm(a - omega) @ expm(omega), x_1)):
            return _t(
                "right factors, wrong order: the rotation acts last, after the flow in the "
                "rotating frame"
            )
        if torch.allclose(got, _log_prob_through(expm(omega) @ expm(a), x_1)):
            return _t(
                "in the rotating frame y_t = R_t^T x_t the field is not A y: differentiate R_t^T too"
            )
        ref = _log_prob_through(_rotating_flow_map(a, omega), x_1)
        if torch.allclose(got, ref + 2 * torch.trace(a)):
            return _t("sign of the log-determinant: log p_1(x_1) = log p_0(x_0) - log|det M|")
        return None

    return run_check(
        "rotating_cnf_log_prob",
        rotating_cnf_log_prob,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=_LIKELIHOOD,
    )


def _euler_log_density(v, x, log_p, steps, jac_trace):
    h = 1.0 / steps
    for i in range(steps):
        t = i * h
        div = jac_trace(x, t)
        x, log_p = x + h * v(x, t), log_p - h * div
    return x, log_p


def check_euler_log_density(
    euler_log_density: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``euler_log_density(v, x_0, log_p_0, steps) -> log_p_1: (B,)``: Euler's method on the
    augmented ODE (x, log p) from t = 0 to 1 with the exact divergence. Section 6.1.1."""

    def cases(g):
        out = []
        for _ in range(2):
            b, d = random_batch(g)
            n = int(torch.randint(3, 9, (), generator=g))
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            log_p = -0.5 * x.pow(2).sum(1) - 0.5 * d * math.log(2 * math.pi)
            v, a = linear_field(g, d)
            trace = lambda x, t, a=a: torch.full(
                (x.shape[0],), (1 + t) * float(torch.trace(a)), dtype=x.dtype
            )  # noqa: E731
            ref = _euler_log_density(v, x, log_p, n, trace)[1]
            out.append(
                Case(_t("linear field, D = {d}, {n} steps", d=d, n=n), (v, x, log_p, n), ref)
            )
            w = nonlinear_field(g, d)
            trace_w = lambda x, t, w=w: torch.diagonal(jacobians(w, x, t), dim1=1, dim2=2).sum(1)  # noqa: E731
            ref = _euler_log_density(w, x, log_p, n, trace_w)[1]
            out.append(Case(_t("tanh field, D = {d}, {n} steps", d=d, n=n), (w, x, log_p, n), ref))
        return out

    def hints(out, case):
        v, x, log_p, n = case.inputs
        got = shaped(out, log_p.shape)
        if got is None:
            return None
        trace = lambda x, t: torch.diagonal(jacobians(v, x, t), dim1=1, dim2=2).sum(1)  # noqa: E731
        if torch.allclose(got, 2 * log_p - _euler_log_density(v, x, log_p, n, trace)[1]):
            return _t(
                "wrong sign: d log p / dt = - div v (mass spreads where the divergence is positive)"
            )
        if torch.allclose(got, log_p):
            return _t("log p did not change: subtract dt * div v at every step")
        return None

    return run_check(
        "euler_log_density",
        euler_log_density,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=_LIKELIHOOD,
    )


def check_divergence_estimator(
    estimator: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``estimator(vjp, d, k, generator) -> (B,)``: an unbiased estimate of tr J from at most k
    vector-Jacobian products ``vjp(eps) = eps^T J`` (rows (B, D)). Section 6.1.2, an open task.

    Any estimator passes that is unbiased (over 300 calls, the mean within 4.5 standard errors of
    tr J for every row) and whose variance is at most half that of k Gaussian probes, 2 ||J_s||_F^2 / k,
    on Jacobians with a strong diagonal (J = diag(1 + u) + 0.15 N, D = 16, k = 4).
    """
    d, k, calls = 16, 4, 300

    def verdict(out, jac, g_seed):
        g = torch.Generator().manual_seed(g_seed)
        estimates = []
        for _ in range(calls):
            used = [0]

            def vjp(eps, used=used):
                used[0] += 1
                if used[0] > k:
                    raise StudentError(
                        _t("more than k = {k} vector-Jacobian products in one call", k=k)
                    )
                eps = torch.as_tensor(eps, dtype=torch.float64)
                if eps.shape != (jac.shape[0], d):
                    raise StudentError(
                        _t(
                            "vjp takes probes of shape {shape}; got {got}",
                            shape=(jac.shape[0], d),
                            got=tuple(eps.shape),
                        )
                    )
                return torch.einsum("bi,bij->bj", eps, jac)

            est = as_tensor(student_call(estimator, vjp, d, k, g, what=_t("your estimator")))
            if est is None or est.shape != (jac.shape[0],):
                return _t(
                    "expected a ({b},) tensor of estimates; got {got}",
                    b=jac.shape[0],
                    got=getattr(est, "shape", type(est).__name__),
                )
            estimates.append(est.double())
        est = torch.stack(estimates)  # (calls, B)
        if not bool(torch.isfinite(est).all()):
            return _t("the estimates contain NaN or inf")
        exact = torch.diagonal(jac, dim1=1, dim2=2).sum(1)
        se = est.std(0) / calls**0.5
        z = ((est.mean(0) - exact).abs() / se.clamp_min(1e-12)).max()
        if float(z) > 4.5:
            return _t(
                "biased: the mean of {calls} calls is {z:.1f} standard errors from tr J",
                calls=calls,
                z=float(z),
            )
        sym = (jac + jac.transpose(1, 2)) / 2
        gauss = 2 * sym.pow(2).sum((1, 2)) / k
        ratio = float((est.var(0) / gauss).max())
        if ratio > 0.5:
            return _t(
                "unbiased, but the variance is {ratio:.2f} x that of {k} Gaussian probes; aim for "
                "at most 0.5 x",
                ratio=ratio,
                k=k,
            )
        return None

    def cases(g):
        b = 3
        u = torch.rand(b, d, generator=g, dtype=torch.float64)
        noise = torch.randn(b, d, d, generator=g, dtype=torch.float64)
        jac = torch.diag_embed(1 + u) + 0.15 * noise
        g_seed = int(torch.randint(0, 2**31 - 1, (), generator=g))
        return [Case(_t("D = {d}, k = {k}", d=d, k=k), (jac, g_seed), verdict)]

    return run_check(
        "divergence_estimator",
        lambda jac, g_seed: None,
        cases,
        seed,
        quiet,
        withheld=_LIKELIHOOD,
    )
