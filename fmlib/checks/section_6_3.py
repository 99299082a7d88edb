"""Checks for the exercises of Section 6.3: the exact marginal field of an empirical target."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import analytic, paths
from ._core import Case, CheckResult, random_batch, run_check


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
