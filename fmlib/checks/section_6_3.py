"""Checks for the exercises of Section 6.3: the exact marginal field of an empirical target."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import analytic, paths
from ..i18n import t as _t
from ._core import Case, CheckResult, as_tensor, random_batch, run_check, shaped

_EMPIRICAL = (
    "fmlib.analytic.EmpiricalTarget.velocity",
    "fmlib.analytic.EmpiricalTarget.posterior",
    "fmlib.analytic.EmpiricalTarget.score",
    "fmlib.analytic.GaussianMixture.velocity",
    "fmlib.analytic.GaussianMixture.posterior",
    "fmlib.analytic.GaussianMixture.score",
    "fmlib.analytic.conditional_velocity_variance",
)


def _empirical_cases(g, which: str) -> list[Case]:
    """Three empirical targets of 2-6 points; the reference is fmlib.analytic's closed form.

    Every draw is informative: some row's posterior is spread (no weight above 0.9) and far
    from the posterior at half or twice the temperature, so "the nearest point only" and a
    dropped factor 2 in the exponent fail on every seed; t stays below 0.8, before the
    posterior saturates.
    """
    out = []
    for _ in range(3):
        b, d = random_batch(g)
        while True:
            n = int(torch.randint(2, 7, (), generator=g))
            if n == b:  # a square (B, N) posterior would hide a transposed answer
                continue
            points = 1.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
            t = float(0.1 + 0.7 * torch.rand((), generator=g))
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            target = analytic.empirical_target(points, paths.linear_path())
            post = target.posterior(x, t)
            logits = post.clamp_min(1e-300).log()
            tempered = [torch.softmax(k * logits, 1) for k in (0.5, 2.0)]
            if bool((post.max(1).values < 0.9).any()) and all(
                float((q - post).abs().max()) > 0.05 for q in tempered
            ):
                break
        ref = target.velocity(x, t) if which == "velocity" else post
        label = _t("{n} data points, D = {d}, t = {t:.2f}", n=n, d=d, t=t)
        out.append(Case(label, (x, t, points), ref))
    return out


def check_marginal_velocity(
    marginal_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``marginal_velocity(x, t, points) -> (B, D)``: u_t(x) towards an empirical target. Section 6.3.2."""
    return run_check(
        "marginal_velocity",
        marginal_velocity,
        lambda g: _empirical_cases(g, "velocity"),
        seed,
        quiet,
        _t("This is the field CFM learns from these points."),
        withheld=_EMPIRICAL,
    )


def check_posterior(
    posterior: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``posterior(x, t, points) -> (B, N)``: q(x_1 = points_i | x_t = x). Section 6.3.2."""
    return run_check(
        "posterior",
        posterior,
        lambda g: _empirical_cases(g, "posterior"),
        seed,
        quiet,
        withheld=_EMPIRICAL,
    )


# The problem set of Section 6.3: every row has its own t (a (B,) tensor) here.


def _rows(g, n_max: int = 6):
    b, d = random_batch(g)
    n = int(torch.randint(2, n_max + 1, (), generator=g))
    points = 1.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
    t = 0.1 + 0.8 * torch.rand(b, generator=g, dtype=torch.float64)
    x = 1.5 * torch.randn(b, d, generator=g, dtype=torch.float64)
    return x, t, points


def check_sigma_min_velocity(
    sigma_min_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``sigma_min_velocity(x, t, points, sigma_min) -> (B, D)``: the marginal field of the path
    x_t = t x_1 + (1 - (1 - sigma_min) t) x_0 towards an empirical target; t: (B,). Section 6.3.

    The reference is fmlib.analytic's Gaussian-mixture closed form on ``linear_path(sigma_min)``.
    """

    def cases(g):
        out = []
        for _ in range(3):
            x, t, points = _rows(g)
            sigma_min = float(0.05 + 0.3 * torch.rand((), generator=g))
            ref = analytic.empirical_target(points, paths.linear_path(sigma_min)).velocity(x, t)
            label = _t(
                "{n} points, sigma_min = {sigma_min:.2f}", n=len(points), sigma_min=sigma_min
            )
            out.append(Case(label, (x, t, points, sigma_min), ref))
        return out

    def hints(out, case):
        x, t, points, sigma_min = case.inputs
        got = shaped(out, x.shape)
        if got is None:
            return None
        plain = analytic.empirical_target(points, paths.linear_path()).velocity(x, t)
        if torch.allclose(got, plain):
            return _t(
                "that is the sigma_min = 0 field; with sigma_min > 0 both the posterior and the "
                "conditional field change"
            )
        return None

    return run_check(
        "sigma_min_velocity",
        sigma_min_velocity,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=_EMPIRICAL,
    )


def _log_density(x, t, points):
    """log p_t(x) of the linear path towards the points: (B,), a logsumexp of Gaussians."""
    d = x.shape[1]
    s = (1 - t)[:, None]
    sq = (x[:, None, :] - t[:, None, None] * points[None]).pow(2).sum(-1)  # (B, N)
    log_n = -0.5 * sq / s**2 - d * s.log() - 0.5 * d * math.log(2 * math.pi)
    return torch.logsumexp(log_n, dim=1) - math.log(len(points))


def check_marginal_score(
    marginal_score: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``marginal_score(x, t, points) -> (B, D)``: grad log p_t(x) on the linear path towards an
    empirical target; t: (B,). Section 6.3. The reference is autograd of the log-density."""

    def cases(g):
        out = []
        for _ in range(3):
            x, t, points = _rows(g)
            xg = x.clone().requires_grad_(True)
            (ref,) = torch.autograd.grad(_log_density(xg, t, points).sum(), xg)
            label = _t("{n} points, D = {d}", n=len(points), d=x.shape[1])
            out.append(Case(label, (x, t, points), ref))
        return out

    def hints(out, case):
        x, t, points = case.inputs
        got = shaped(out, x.shape)
        if got is None:
            return None
        q = torch.softmax(_log_density_terms(x, t, points), dim=1)
        s = (1 - t)[:, None]
        if torch.allclose(got, -(x - t[:, None] * (q @ points)) / s):
            return _t("divide by the variance (1 - t)^2, not the standard deviation")
        if torch.allclose(got, -(x - q @ points) / s**2):
            return _t("the conditional means are t x^(i), not x^(i)")
        return None

    return run_check(
        "marginal_score", marginal_score, cases, seed, quiet, hints=hints, withheld=_EMPIRICAL
    )


def _log_density_terms(x, t, points):
    s = (1 - t)[:, None]
    return -0.5 * (x[:, None, :] - t[:, None, None] * points[None]).pow(2).sum(-1) / s**2


def check_cfm_floor(
    cfm_floor: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``cfm_floor(x, t, points) -> (B,)``: E[|u_t(x | x_1) - u_t(x)|^2 | x_t = x] on the linear
    path towards an empirical target; t: (B,). Section 6.3.3: the part of the CFM loss no model
    can remove. The reference is fmlib.analytic.conditional_velocity_variance."""

    def cases(g):
        out = []
        for _ in range(3):
            x, t, points = _rows(g)
            target = analytic.empirical_target(points, paths.linear_path())
            ref = analytic.conditional_velocity_variance(target, x, t)
            label = _t("{n} points, D = {d}", n=len(points), d=x.shape[1])
            out.append(Case(label, (x, t, points), ref))
        return out

    def hints(out, case):
        x, t, points = case.inputs
        got = shaped(out, (x.shape[0],))
        if got is None:
            return None
        q = torch.softmax(_log_density_terms(x, t, points), dim=1)
        spread = q @ points.pow(2).sum(-1) - (q @ points).pow(2).sum(-1)
        if torch.allclose(got, spread):
            return _t(
                "that is tr Cov[x_1 | x_t = x]; the velocities are (x^(i) - x) / (1 - t), so "
                "scale by 1 / (1 - t)^2"
            )
        return None

    return run_check("cfm_floor", cfm_floor, cases, seed, quiet, hints=hints, withheld=_EMPIRICAL)


def check_generalising_field(
    make_field: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``make_field(points) -> v(x, t)``: a velocity field built from N = 50 training points whose
    samples do not copy them. Section 6.3.2, an open task.

    Integrated with dopri5 from 500 noise points to t = 0.999, the samples must (1) lie a median
    distance of at least 0.05 from their nearest training point and (2) be at least as close in
    W2 to 500 fresh two-moons points as the exact marginal field's samples (the training set
    replayed) are.
    """
    from .. import data, ot, solvers
    from ._core import StudentError, student_call

    def verdict(out, points, x_0, fresh):
        field = student_call(make_field, points.clone(), what=_t("your make_field"))
        if not callable(field):
            raise StudentError(
                _t("make_field must return a field v(x, t); got {kind}", kind=type(field).__name__)
            )

        def v(x, t):
            res = as_tensor(student_call(field, x, t, what=_t("your field")))
            if res is None or res.shape != x.shape:
                raise StudentError(
                    _t("your field must return a tensor of shape {shape}", shape=tuple(x.shape))
                )
            return res.to(x.dtype)

        mine = solvers.solve(v, x_0, t1=0.999, method="dopri5").x
        if not bool(torch.isfinite(mine).all()):
            return _t("the samples contain NaN or inf")
        exact = analytic.empirical_target(points, paths.linear_path())
        replay = solvers.solve(exact, x_0, t1=0.999, method="dopri5").x
        near = float(torch.cdist(mine, points).min(dim=1).values.median())
        if near < 0.05:
            return _t(
                "your samples copy the training points (median distance to the nearest one "
                "{near:.3f}, at least 0.05 asked)",
                near=near,
            )
        w2_mine, w2_replay = ot.w2(mine, fresh), ot.w2(replay, fresh)
        if w2_mine > w2_replay:
            return _t(
                "W2 to fresh data {mine:.3f}, the replayed training set's {replay:.3f}: "
                "your samples must be at least as close to new data",
                mine=w2_mine,
                replay=w2_replay,
            )
        return None

    def cases(g):
        points = data.two_moons(50, g).double()
        x_0 = torch.randn(500, 2, generator=g, dtype=torch.float64)
        fresh = data.two_moons(500, g).double()
        return [Case(_t("50 training points"), (points, x_0, fresh), verdict)]

    return run_check(
        "generalising_field",
        lambda points, x_0, fresh: None,
        cases,
        seed,
        quiet,
        withheld=_EMPIRICAL,
    )


def check_marginal_divergence(
    marginal_divergence: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``marginal_divergence(x, t, points) -> (B,)``: div u_t(x) of the linear path's marginal
    field towards an empirical target; t: (B,). Section 6.3 with 6.1. The reference is autograd's
    Jacobian of fmlib.analytic's field, row by row."""

    def cases(g):
        out = []
        for _ in range(3):
            x, t, points = _rows(g)
            target = analytic.empirical_target(points, paths.linear_path())
            ref = torch.stack(
                [
                    torch.autograd.functional.jacobian(
                        lambda r, i=i, tg=target, t=t: tg.velocity(r[None], t[i : i + 1])[0], x[i]
                    ).trace()
                    for i in range(len(x))
                ]
            )
            label = _t("{n} points, D = {d}", n=len(points), d=x.shape[1])
            out.append(Case(label, (x, t, points), ref))
        return out

    def hints(out, case):
        x, t, points = case.inputs
        got = shaped(out, (x.shape[0],))
        if got is None:
            return None
        s = 1 - t
        if torch.allclose(got, -x.shape[1] / s):
            return _t("that treats the weights q(i | x) as constants; they depend on x too")
        return None

    return run_check(
        "marginal_divergence",
        marginal_divergence,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=(
            *_EMPIRICAL,
            "fmlib.likelihood.divergence_exact",
            "fmlib.likelihood.divergence_hutchinson",
        ),
    )
