"""Checks for the exercises of Section 6.3: the exact marginal field of an empirical target."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import analytic, paths
from ._core import CheckResult, _batch, run_check


def _empirical_cases(g, fn, which: str):
    out = []
    for _ in range(3):
        b, d = _batch(g)
        n = int(torch.randint(1, 7, (), generator=g))
        points = 1.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
        t = float(0.05 + 0.9 * torch.rand((), generator=g))
        x = torch.randn(b, d, generator=g, dtype=torch.float64)
        target = analytic.empirical_target(points, paths.linear_path())
        ref = target.velocity(x, t) if which == "velocity" else target.posterior(x, t)
        call = lambda x=x, t=t, points=points: fn(x.clone(), t, points.clone())
        out.append((call, ref, f"{n} data points, D = {d}, t = {t:.2f}", (x,)))
    return out


def check_marginal_velocity(
    marginal_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``marginal_velocity(x, t, points) -> (B, D)``: u_t(x) towards an empirical target. Section 6.3.2."""
    return run_check(
        "marginal_velocity",
        lambda g: _empirical_cases(g, marginal_velocity, "velocity"),
        seed,
        quiet,
        "This is the field CFM learns from these points.",
    )


def check_posterior(
    posterior: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``posterior(x, t, points) -> (B, N)``: q(x_1 = points_i | x_t = x). Section 6.3.2."""
    return run_check(
        "posterior", lambda g: _empirical_cases(g, posterior, "posterior"), seed, quiet
    )
