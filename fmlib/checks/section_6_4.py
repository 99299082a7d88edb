"""Checks for the exercises of Section 6.4: score <-> velocity."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import analytic, paths
from ._core import Case, CheckResult, random_batch, run_check


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
        out.append(
            Case(f"{name} path, t from {float(t.min()):.2f} to {float(t.max()):.2f}", inputs, ref)
        )
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
