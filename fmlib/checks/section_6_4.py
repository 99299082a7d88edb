"""Checks for the exercises of Section 6.4: score <-> velocity."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import analytic, paths, solvers
from ..i18n import t as _t
from ._core import (
    Case,
    CheckResult,
    StudentError,
    as_tensor,
    nonlinear_field,
    random_batch,
    run_check,
    shaped,
)


def _path_name(name: str) -> str:
    """A case label's path name ("linear path"), in the chosen language."""
    return {
        "linear": _t("linear path"),
        "cosine": _t("cosine path"),
        "VP": _t("VP path"),
    }[name]


def _score_velocity_cases(g, direction: str) -> list[Case]:
    """A Gaussian mixture on each affine path, one t per row; the reference is its own score or velocity."""
    out = []
    choices = [
        ("linear", paths.linear_path()),
        ("cosine", paths.cosine_path()),
        ("VP", paths.vp_path()),
    ]
    for name, path in choices:
        b, d = random_batch(g)
        n = int(torch.randint(1, 5, (), generator=g))
        target = analytic.GaussianMixture(
            torch.randn(n, d, generator=g, dtype=torch.float64),
            0.1 + torch.rand(n, generator=g, dtype=torch.float64),
            path=path,
        )
        t = 0.1 + 0.8 * torch.rand(b, generator=g, dtype=torch.float64)  # one t per row
        x = torch.randn(b, d, generator=g, dtype=torch.float64)
        score, velocity = target.score(x, t), target.velocity(x, t)
        alpha_t, sigma_t, d_alpha_t, d_sigma_t = path.coefficients(t, x)  # each (B, 1)
        given, ref = (score, velocity) if direction == "s2v" else (velocity, score)
        inputs = (given, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t)
        label = _t(
            "{path}, t from {lo:.2f} to {hi:.2f}",
            path=_path_name(name),
            lo=float(t.min()),
            hi=float(t.max()),
        )
        out.append(Case(label, inputs, ref))
    return out


def check_score_to_velocity(
    score_to_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``score_to_velocity(score, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t) -> u_t``. Section 6.4.2.

    The reference is the Gaussian mixture's own marginal velocity, not the conversion formula.
    """
    return run_check(
        "score_to_velocity",
        score_to_velocity,
        lambda g: _score_velocity_cases(g, "s2v"),
        seed,
        quiet,
    )


def check_velocity_to_score(
    velocity_to_score: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``velocity_to_score(velocity, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t) -> score``. Section 6.4.2."""
    return run_check(
        "velocity_to_score",
        velocity_to_score,
        lambda g: _score_velocity_cases(g, "v2s"),
        seed,
        quiet,
    )


# The problem set of Section 6.4: each check builds its reference in closed form here (posterior
# means of Gaussian components, Gaussian conditioning), never through fmlib's conversions.

T_END = 1.0 - 1e-3  # where the VP path's probability-flow ODE is stopped (Section 6.4.1)


def _mixture_cases(g) -> list[tuple]:
    """(name, target, x, t, coefficients, means, variances): a random isotropic mixture on each
    path, a different t in [0.1, 0.9] for every row."""
    out = []
    for name, path in (
        ("linear", paths.linear_path()),
        ("cosine", paths.cosine_path()),
        ("VP", paths.vp_path()),
    ):
        b, d = random_batch(g)
        n = int(torch.randint(2, 5, (), generator=g))
        means = 1.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
        variances = 0.05 + 0.5 * torch.rand(n, generator=g, dtype=torch.float64)
        target = analytic.GaussianMixture(means, variances, path=path)
        t = 0.1 + 0.8 * torch.rand(b, generator=g, dtype=torch.float64)
        x = torch.randn(b, d, generator=g, dtype=torch.float64)
        coefficients = tuple(path.coefficients(t, x))
        out.append((name, target, x, t, coefficients, means, variances))
    return out


def _posterior_mean(x, means, variances, alpha_t, sigma_t) -> torch.Tensor:
    """E[x_1 | x_t = x] for x_1 ~ (1/K) sum_k N(m_k, c_k I): responsibilities times each
    component's Gaussian posterior mean m_k + alpha c_k / (alpha^2 c_k + sigma^2) (x - alpha m_k)."""
    d = x.shape[1]
    var = alpha_t**2 * variances[None, :] + sigma_t**2  # (B, K): marginal variance per component
    diff = x[:, None, :] - alpha_t[:, :, None] * means[None]  # (B, K, D)
    log_r = -0.5 * d * var.log() - 0.5 * diff.pow(2).sum(-1) / var
    r = torch.softmax(log_r, dim=1)  # (B, K)
    post = means[None] + (alpha_t[:, :, None] * variances[None, :, None] / var[:, :, None]) * diff
    return (r[:, :, None] * post).sum(1)


def check_eps_to_velocity(
    eps_to_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``eps_to_velocity(eps, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t) -> u_t``. Section 6.4.2.

    ``eps`` is the ideal noise prediction E[x_0 | x_t = x] of a Gaussian mixture; the reference
    is the mixture's exact marginal velocity.
    """

    def cases(g):
        out = []
        for name, target, x, t, coefficients, _, _ in _mixture_cases(g):
            eps = -coefficients[1] * target.score(x, t)  # E[x_0 | x] = -sigma_t grad log p_t
            label = _t(
                "{path}, t in [{lo:.2f}, {hi:.2f}]",
                path=_path_name(name),
                lo=float(t.min()),
                hi=float(t.max()),
            )
            out.append(Case(label, (eps, x, *coefficients), target.velocity(x, t)))
        return out

    def hints(out, case):
        eps, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t = case.inputs
        got = shaped(out, x.shape)
        if got is None:
            return None
        c = d_alpha_t * sigma_t**2 / alpha_t - d_sigma_t * sigma_t
        if torch.allclose(got, d_alpha_t / alpha_t * x + c * eps):
            return _t("you used eps as the score; the score is -eps / sigma_t")
        if torch.allclose(got, d_alpha_t / alpha_t * x + c * eps / sigma_t):
            return _t("wrong sign of the score: grad log p_t = -eps / sigma_t")
        return None

    return run_check(
        "eps_to_velocity",
        eps_to_velocity,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=("fmlib.diffusion.score_to_velocity", "fmlib.diffusion.noise_to_score"),
    )


def _posterior_covariance(x, means, variances, alpha_t, sigma_t) -> torch.Tensor:
    """Cov[x_1 | x_t = x] for x_1 ~ (1/K) sum_k N(m_k, c_k I), by the law of total covariance over
    the components: sum_k r_k (P_k I + mu_k mu_k^T) - mu mu^T, each component's posterior being
    N(mu_k, P_k I) with P_k = c_k sigma^2 / (alpha^2 c_k + sigma^2). No Jacobian, no Tweedie."""
    d = x.shape[1]
    var = alpha_t**2 * variances[None, :] + sigma_t**2  # (B, K)
    diff = x[:, None, :] - alpha_t[:, :, None] * means[None]  # (B, K, D)
    log_r = -0.5 * d * var.log() - 0.5 * diff.pow(2).sum(-1) / var
    r = torch.softmax(log_r, dim=1)  # (B, K)
    mu = means[None] + (alpha_t[:, :, None] * variances[None, :, None] / var[:, :, None]) * diff
    spread = variances[None, :] * sigma_t**2 / var  # (B, K)
    eye = torch.eye(d, dtype=x.dtype)
    second = torch.einsum("bk,bki,bkj->bij", r, mu, mu) + (r * spread).sum(1)[:, None, None] * eye
    mean = (r[:, :, None] * mu).sum(1)
    return second - mean[:, :, None] * mean[:, None, :]


def check_posterior_covariance(
    posterior_covariance: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``posterior_covariance(velocity, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t) -> (B, D, D)``:
    Cov[x_1 | x_t = x] from the marginal velocity ``velocity(x) -> (B, D)`` (each row at its own
    t, differentiable in x). Section 6.4.2.

    The reference is the Gaussian mixture's posterior covariance, by the law of total covariance
    over its components (no conversion formula, no derivative).
    """

    def cases(g):
        out = []
        for name, target, x, t, coefficients, means, variances in _mixture_cases(g):
            ref = _posterior_covariance(x, means, variances, coefficients[0], coefficients[1])

            def velocity(y, target=target, t=t, shape=x.shape):
                if not isinstance(y, torch.Tensor) or y.shape != shape:
                    raise StudentError(
                        _t(
                            "velocity takes points of shape {shape} (one row per t); got {got}",
                            shape=tuple(shape),
                            got=tuple(getattr(y, "shape", ())),
                        )
                    )
                return target.velocity(y.double(), t)

            label = _t(
                "{path}, t in [{lo:.2f}, {hi:.2f}]",
                path=_path_name(name),
                lo=float(t.min()),
                hi=float(t.max()),
            )
            out.append(Case(label, (velocity, x, *coefficients), ref))
        return out

    def hints(out, case):
        velocity, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t = case.inputs
        b, d = x.shape
        got = shaped(out, (b, d, d))
        if got is None:
            return None
        ref = case.expected
        a, s = alpha_t[:, :, None], sigma_t[:, :, None]
        if torch.allclose(got, ref * a / s**2):
            return _t(
                "that is the Jacobian of the denoiser E[x_1 | x_t = x]; the covariance is a "
                "multiple of it"
            )
        if torch.allclose(got, ref / s**2):
            return _t("off by sigma_t^2 in every row: check the factor in front of the Jacobian")
        if torch.allclose(got, ref * a**2):
            return _t(
                "that is Cov[alpha_t x_1 | x_t = x]; divide by alpha_t^2 for Cov[x_1 | x_t = x]"
            )
        return None

    return run_check(
        "posterior_covariance",
        posterior_covariance,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=("fmlib.diffusion.velocity_to_score", "fmlib.diffusion.score_to_velocity"),
    )


def _gaussian_reference(x, mean, cov, alpha_t, sigma_t, d_alpha_t, d_sigma_t) -> torch.Tensor:
    """u_t(x) = d_alpha E[x_1 | x] + d_sigma E[x_0 | x], by conditioning the joint Gaussian
    (x_1, x_0, x_t): E[x_1 | x] = m + alpha S C^{-1} (x - alpha m), E[x_0 | x] = sigma C^{-1} (x - alpha m)
    with C = alpha^2 S + sigma^2 I, row by row."""
    d = x.shape[1]
    a, s = alpha_t[:, :, None], sigma_t[:, :, None]
    c = a**2 * cov[None] + s**2 * torch.eye(d, dtype=x.dtype)  # (B, D, D)
    r = torch.linalg.solve(c, (x - alpha_t * mean)[:, :, None])  # C^{-1} (x - alpha m): (B, D, 1)
    e_1 = mean + (a * cov[None] @ r)[:, :, 0]
    e_0 = (s * r)[:, :, 0]
    return d_alpha_t * e_1 + d_sigma_t * e_0


def check_gaussian_velocity(
    gaussian_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``gaussian_velocity(x, mean, cov, alpha_t, sigma_t, d_alpha_t, d_sigma_t) -> u_t``. Section 6.4.

    The marginal velocity of an affine path from N(0, I) to N(mean, cov) with a full covariance;
    the reference conditions the joint Gaussian of (x_1, x_0, x_t).
    """

    def cases(g):
        out = []
        for name, path in (
            ("linear", paths.linear_path()),
            ("cosine", paths.cosine_path()),
            ("VP", paths.vp_path()),
        ):
            b, d = random_batch(g)
            mean = torch.randn(d, generator=g, dtype=torch.float64)
            a = torch.randn(d, d, generator=g, dtype=torch.float64)
            cov = a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)
            t = 0.1 + 0.8 * torch.rand(b, generator=g, dtype=torch.float64)
            x = 2 * torch.randn(b, d, generator=g, dtype=torch.float64)
            coefficients = tuple(path.coefficients(t, x))
            ref = _gaussian_reference(x, mean, cov, *coefficients)
            label = _t(
                "{path}, D = {d}, t in [{lo:.2f}, {hi:.2f}]",
                path=_path_name(name),
                d=d,
                lo=float(t.min()),
                hi=float(t.max()),
            )
            out.append(Case(label, (x, mean, cov, *coefficients), ref))
        return out

    def hints(out, case):
        x, mean, cov, *coefficients = case.inputs
        got = shaped(out, x.shape)
        if got is None:
            return None
        if torch.allclose(
            got, _gaussian_reference(x, mean, torch.diag(cov.diagonal()), *coefficients)
        ):
            return _t(
                "you used only the diagonal of cov: the covariance is full, so C_t is a matrix to "
                "solve with"
            )
        if torch.allclose(got, _gaussian_reference(x, 0 * mean, cov, *coefficients)):
            return _t("the mean of the target is missing")
        d_alpha_t = coefficients[2]
        if torch.allclose(
            got, _gaussian_reference(x, mean, cov, *coefficients[:2], d_alpha_t, 0 * d_alpha_t)
        ):
            return _t("the noise's share d_sigma_t E[x_0 | x] is missing")
        return None

    return run_check(
        "gaussian_velocity",
        gaussian_velocity,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=(
            "fmlib.analytic.GaussianMixture.velocity",
            "fmlib.analytic.GaussianMixture.score",
            "fmlib.diffusion.score_to_velocity",
        ),
    )


def check_cosine_dsm_loss(
    cosine_dsm_loss: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``cosine_dsm_loss(eps_model, x_0, x_1, t) -> scalar``: E||eps_theta(x_t, t) - x_0||^2 on the
    cosine path. Section 6.4.2, in a new setting."""

    def reference(eps_model, x_0, x_1, t, alpha, sigma):
        x_t = alpha(t)[:, None] * x_1 + sigma(t)[:, None] * x_0
        return (eps_model(x_t, t) - x_0).pow(2).sum(dim=1).mean()

    cosine = (lambda t: torch.sin(0.5 * math.pi * t), lambda t: torch.cos(0.5 * math.pi * t))

    def cases(g):
        out = []
        for _ in range(3):
            b, d = random_batch(g)
            eps_model = nonlinear_field(g, d)
            x_0 = torch.randn(b, d, generator=g, dtype=torch.float64)
            x_1 = 2 * torch.randn(b, d, generator=g, dtype=torch.float64)
            t = 0.05 + 0.9 * torch.rand(b, generator=g, dtype=torch.float64)
            ref = reference(eps_model, x_0, x_1, t, *cosine)
            out.append(Case(f"B = {b}, D = {d}", (eps_model, x_0, x_1, t), ref))
        return out

    def hints(out, case):
        eps_model, x_0, x_1, t = case.inputs
        got = as_tensor(out)
        if got is None or got.numel() != 1:
            return None
        got = got.double().reshape(())
        linear = (lambda t: t, lambda t: 1 - t)
        if torch.allclose(got, reference(eps_model, x_0, x_1, t, *linear)):
            return _t(
                "that is the linear path; the cosine path has alpha_t = sin(pi t / 2), "
                "sigma_t = cos(pi t / 2)"
            )
        swapped = (cosine[1], cosine[0])
        if torch.allclose(got, reference(eps_model, x_0, x_1, t, *swapped)):
            return _t("sin and cos are swapped: at t = 0 the path must be all noise")
        if torch.allclose(got, reference(eps_model, x_1, x_0, t, *cosine)):
            return _t(
                "x_0 and x_1 are swapped: x_0 is the noise (what eps_theta predicts), x_1 the data"
            )
        if torch.allclose(got, reference(eps_model, x_0, x_1, t, *cosine) / x_0.shape[1]):
            return _t(
                "you averaged over the coordinates too: sum the squares over D, average over the "
                "batch"
            )
        return None

    return run_check(
        "cosine_dsm_loss",
        cosine_dsm_loss,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=(
            "fmlib.diffusion.dsm_loss",
            "fmlib.paths.CosineScheduler.__call__",
            "fmlib.paths.AffinePath.sample",
        ),
    )


def _ring(g, k: int = 8) -> analytic.GaussianMixture:
    """K Gaussians of std 0.2 on a circle of radius 2 at a random rotation, on the VP path."""
    angles = (torch.arange(k) + torch.rand((), generator=g)) * (2 * math.pi / k)
    means = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1).double()
    return analytic.GaussianMixture(means, torch.full((k,), 0.04), path=paths.vp_path())


def _euler_error(field, x_init, grid, reference) -> float:
    x = x_init.clone()
    for a, b in zip(grid[:-1], grid[1:], strict=True):
        x = x + float(b - a) * field(x, float(a))
    return float((x - reference).pow(2).sum(dim=1).mean().sqrt())


def check_time_grid(
    time_grid: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``time_grid(n, t_end) -> (n + 1,)`` times from 0 to t_end, for Euler on the VP path's
    probability-flow ODE. Section 6.4.3, an open task.

    Any grid passes whose Euler solve, on the exact field towards a ring of Gaussians, ends with an
    RMS error at most 0.8 of the uniform grid's (same n), against a tight dopri5 reference.
    """

    def judge(n: int, t_end: float, g_seed: int):
        def verdict(out, n, t_end, g_seed):
            grid = as_tensor(out)
            if grid is None:
                return _t(
                    "expected a tensor of {n} times; got {kind}", n=n + 1, kind=type(out).__name__
                )
            grid = grid.double().flatten()
            if grid.numel() != n + 1:
                return _t(
                    "expected n + 1 = {n} times (n steps); got {got}", n=n + 1, got=grid.numel()
                )
            if not bool(torch.isfinite(grid).all()):
                return _t("the grid contains NaN or inf")
            if abs(float(grid[0])) > 1e-6 or abs(float(grid[-1]) - t_end) > 1e-6:
                return _t(
                    "the grid must start at 0 and end at t_end = {t_end}; got {first:.4g} ... "
                    "{last:.6g}",
                    t_end=t_end,
                    first=float(grid[0]),
                    last=float(grid[-1]),
                )
            if not bool((grid[1:] > grid[:-1]).all()):
                return _t("the times must increase strictly")
            g = torch.Generator().manual_seed(g_seed)
            target = _ring(g)
            x_init = torch.randn(400, 2, generator=g, dtype=torch.float64)
            ref = solvers.solve(target, x_init, t1=t_end, method="dopri5", rtol=1e-9, atol=1e-9).x
            uniform = torch.linspace(0, t_end, n + 1, dtype=torch.float64)
            base = _euler_error(target, x_init, uniform, ref)
            mine = _euler_error(target, x_init, grid, ref)
            if mine > 0.8 * base:
                return _t(
                    "with {n} Euler steps your grid's RMS error is {mine:.4f}, the uniform grid's "
                    "{base:.4f}: aim for at most 0.8 x uniform (where is the field hardest to "
                    "follow?)",
                    n=n,
                    mine=mine,
                    base=base,
                )
            return None

        return Case(f"n = {n}", (n, t_end, g_seed), verdict)

    def cases(g):
        seeds = torch.randint(0, 2**31 - 1, (2,), generator=g).tolist()
        n_small = int(torch.randint(10, 14, (), generator=g))
        return [judge(n_small, T_END, seeds[0]), judge(n_small + 2, T_END, seeds[1])]

    return run_check("time_grid", lambda n, t_end, g_seed: time_grid(n, t_end), cases, seed, quiet)
