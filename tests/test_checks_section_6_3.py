"""The Section 6.3 problem-set checks: right answers pass on many seeds, plausible wrong ones get
the hint that names their mistake, and fmlib's closed forms are no shortcut."""

from __future__ import annotations

import pytest
import torch

import fmlib as fm
from fmlib import checks


def _weights(x, t, points, sigma_t):
    sq = (x[:, None, :] - t[:, None, None] * points[None]).pow(2).sum(-1)
    return torch.softmax(-sq / (2 * sigma_t**2), dim=1)  # (B, N)


def sigma_min_velocity(x, t, points, sigma_min):
    sigma_t = (1 - (1 - sigma_min) * t)[:, None]
    q = _weights(x, t, points, sigma_t)
    return (q @ points - (1 - sigma_min) * x) / sigma_t


def marginal_score(x, t, points):
    s = (1 - t)[:, None]
    q = _weights(x, t, points, s)
    return -(x - t[:, None] * (q @ points)) / s**2


def cfm_floor(x, t, points):
    s = (1 - t)[:, None]
    q = _weights(x, t, points, s)
    cond = (points[None] - x[:, None]) / s[:, :, None]  # (B, N, D)
    mean = (q[:, :, None] * cond).sum(1)
    return (q * (cond - mean[:, None]).pow(2).sum(-1)).sum(1)


RIGHT = [
    (checks.check_sigma_min_velocity, sigma_min_velocity),
    (checks.check_marginal_score, marginal_score),
    (checks.check_cfm_floor, cfm_floor),
]


@pytest.mark.parametrize("check, answer", RIGHT, ids=lambda f: getattr(f, "__name__", ""))
def test_right_answers_pass_on_many_seeds(check, answer):
    for seed in range(25):
        result = check(answer, seed=seed, quiet=True)
        assert result, result.message


WRONG = [
    (
        checks.check_sigma_min_velocity,
        lambda x, t, p, s: sigma_min_velocity(x, t, p, 0.0),
        "sigma_min = 0",
    ),
    (
        checks.check_sigma_min_velocity,
        lambda x, t, p, s: (
            (_weights(x, t, p, (1 - (1 - s) * t)[:, None]) @ p - x) / (1 - t)[:, None]
        ),
        "differ",
    ),
    (
        checks.check_marginal_score,
        lambda x, t, p: marginal_score(x, t, p) * (1 - t)[:, None],
        "variance (1 - t)^2",
    ),
    (
        checks.check_marginal_score,
        lambda x, t, p: -(x - _weights(x, t, p, (1 - t)[:, None]) @ p) / (1 - t)[:, None] ** 2,
        "t x^(i)",
    ),
    (
        checks.check_cfm_floor,
        lambda x, t, p: cfm_floor(x, t, p) * (1 - t) ** 2,
        "tr Cov",
    ),
]


@pytest.mark.parametrize(
    "check, answer, hint", WRONG, ids=lambda x: x if isinstance(x, str) else ""
)
def test_wrong_answers_fail_with_the_right_hint(check, answer, hint):
    for seed in (0, 1, 2):
        result = check(answer, seed=seed, quiet=True)
        assert not result and hint in result.message, result.message


SHORTCUTS = [
    (
        checks.check_sigma_min_velocity,
        lambda x, t, p, s: fm.analytic.empirical_target(p, fm.linear_path(s)).velocity(x, t),
        "is the library's answer",
    ),
    (
        checks.check_marginal_score,
        lambda x, t, p: fm.analytic.empirical_target(p).score(x, t),
        "is the library's answer",
    ),
    (
        checks.check_cfm_floor,
        lambda x, t, p: fm.analytic.conditional_velocity_variance(
            fm.analytic.empirical_target(p), x, t
        ),
        "fm.analytic.conditional_velocity_variance",
    ),
    (
        checks.check_marginal_velocity,
        lambda x, t, p: fm.analytic.empirical_target(p).velocity(x, t),
        "is the library's answer",
    ),
]


@pytest.mark.parametrize(
    "check, answer, name", SHORTCUTS, ids=lambda x: x if isinstance(x, str) else ""
)
def test_fmlib_shortcut_is_refused(check, answer, name):
    result = check(answer, seed=0, quiet=True)
    assert not result and name in result.message, result.message
