"""Checks for the exercises of Section 6.4: score <-> velocity."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import analytic, paths
from ._core import CheckResult, _batch, run_check


def _score_velocity_cases(g, fn, direction: str):
    out = []
    choices = [
        ("linear", paths.linear_path()),
        ("cosine", paths.cosine_path()),
        ("VP", paths.vp_path()),
    ]
    for name, path in choices:
        b, d = _batch(g)
        n = int(torch.randint(1, 5, (), generator=g))
        target = analytic.GaussianMixture(
            torch.randn(n, d, generator=g, dtype=torch.float64),
            0.1 + torch.rand(n, generator=g, dtype=torch.float64),
            path=path,
        )
        t = float(0.1 + 0.8 * torch.rand((), generator=g))
        x = torch.randn(b, d, generator=g, dtype=torch.float64)
        score, velocity = target.score(x, t), target.velocity(x, t)
        coeffs = path.coefficients(t, x)  # alpha_t, sigma_t, d_alpha_t, d_sigma_t: each (B, 1)
        given, ref = (score, velocity) if direction == "s2v" else (velocity, score)
        call = lambda given=given, x=x, c=coeffs: fn(given.clone(), x.clone(), *c)
        out.append((call, ref, f"{name} path, t = {t:.2f}", (x, given)))
    return out


def check_score_to_velocity(
    score_to_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``score_to_velocity(score, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t) -> u_t``. Section 6.4.2.

    The reference is the Gaussian mixture's own marginal velocity, not the conversion formula.
    """
    return run_check(
        "score_to_velocity",
        lambda g: _score_velocity_cases(g, score_to_velocity, "s2v"),
        seed,
        quiet,
    )


def check_velocity_to_score(
    velocity_to_score: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``velocity_to_score(velocity, x, alpha_t, sigma_t, d_alpha_t, d_sigma_t) -> score``. Section 6.4.2."""
    return run_check(
        "velocity_to_score",
        lambda g: _score_velocity_cases(g, velocity_to_score, "v2s"),
        seed,
        quiet,
    )
