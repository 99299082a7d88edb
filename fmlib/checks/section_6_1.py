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


# The problem set of Section 6.1: closed forms with scipy (the flow map of a linear field), an
# Euler scheme written out, and a statistical judge for the open estimator task.


def _linear_cnf_log_prob(x_1: Tensor, a: Tensor, alpha: float, beta: float) -> Tensor:
    """log p_1(x_1) for dx/dt = (alpha + beta t) A x from N(0, I): x_1 = expm((alpha + beta/2) A) x_0,
    a Gaussian with covariance M M^T (scipy's expm and multivariate_normal)."""
    import numpy as np
    import scipy.linalg
    import scipy.stats

    m = scipy.linalg.expm((alpha + beta / 2) * a.numpy())
    d = a.shape[0]
    logp = scipy.stats.multivariate_normal(np.zeros(d), m @ m.T).logpdf(x_1.numpy())
    return torch.as_tensor(np.atleast_1d(logp), dtype=torch.float64)


def check_linear_cnf_log_prob(
    linear_cnf_log_prob: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``linear_cnf_log_prob(x_1, a, alpha, beta) -> (B,)``: log p_1 of the CNF dx/dt = (alpha +
    beta t) A x started from N(0, I) at t = 0. Section 6.1.1."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = random_batch(g)
            a = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
            alpha = float(0.2 + torch.rand((), generator=g))
            beta = float(0.5 + torch.rand((), generator=g))
            x_1 = 1.5 * torch.randn(b, d, generator=g, dtype=torch.float64)
            ref = _linear_cnf_log_prob(x_1, a, alpha, beta)
            out.append(
                Case(
                    _t(
                        "D = {d}, alpha = {alpha:.2f}, beta = {beta:.2f}",
                        d=d,
                        alpha=alpha,
                        beta=beta,
                    ),
                    (x_1, a, alpha, beta),
                    ref,
                )
            )
        return out

    def hints(out, case):
        x_1, a, alpha, beta = case.inputs
        got = shaped(out, (x_1.shape[0],))
        if got is None:
            return None
        if torch.allclose(got, _linear_cnf_log_prob(x_1, a, alpha + beta / 2, beta)):
            return _t(
                "the flow map is expm(int_0^1 (alpha + beta t) dt A) = expm((alpha + beta / 2) A)"
            )
        if torch.allclose(got, _linear_cnf_log_prob(x_1, a, alpha, 0.0)):
            return _t("the time dependence beta t is missing")
        tr = float(torch.trace(a)) * (alpha + beta / 2)
        if torch.allclose(got, _linear_cnf_log_prob(x_1, a, alpha, beta) + 2 * tr):
            return _t("sign of the log-determinant: log p_1(x_1) = log p_0(x_0) - log|det M|")
        return None

    return run_check(
        "linear_cnf_log_prob",
        linear_cnf_log_prob,
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
