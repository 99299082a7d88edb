"""Checks for the exercises of Section 6.3: the exact marginal field of an empirical target."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import analytic, paths
from ._core import Case, CheckResult, random_batch, run_check


def _empirical_cases(g, which: str) -> list[Case]:
    """Three empirical targets of 1-6 points; the reference is fmlib.analytic's closed form."""
    out = []
    for _ in range(3):
        b, d = random_batch(g)
        n = int(torch.randint(1, 7, (), generator=g))
        points = 1.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
        t = float(0.05 + 0.9 * torch.rand((), generator=g))
        x = torch.randn(b, d, generator=g, dtype=torch.float64)
        target = analytic.empirical_target(points, paths.linear_path())
        ref = target.velocity(x, t) if which == "velocity" else target.posterior(x, t)
        out.append(Case(f"{n} data points, D = {d}, t = {t:.2f}", (x, t, points), ref))
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
        "This is the field CFM learns from these points.",
    )


def check_posterior(
    posterior: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``posterior(x, t, points) -> (B, N)``: q(x_1 = points_i | x_t = x). Section 6.3.2."""
    return run_check(
        "posterior", posterior, lambda g: _empirical_cases(g, "posterior"), seed, quiet
    )
