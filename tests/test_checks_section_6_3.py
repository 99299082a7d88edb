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


def sigma_min_design(points):
    """The sigma_min = 0.1 path's exact field: each training point becomes a small Gaussian."""
    return lambda x, t: sigma_min_velocity(
        x, torch.as_tensor(t, dtype=x.dtype).expand(len(x)), points, 0.1
    )


def kernel_design(points, h=0.12):
    """A different design: the exact linear-path field towards a kernel density (bandwidth h)."""

    def v(x, t):
        t = float(t)
        var = t**2 * h**2 + (1 - t) ** 2
        d = x[:, None, :] - t * points[None]  # (B, N, D)
        w = torch.softmax(-d.pow(2).sum(-1) / (2 * var), dim=1)
        return (w[:, :, None] * (points[None] + (t * h**2 - (1 - t)) / var * d)).sum(1)

    return v


@pytest.mark.parametrize("design", [sigma_min_design, kernel_design])
def test_two_different_generalising_fields_pass(design):
    for seed in range(3):
        result = checks.check_generalising_field(design, seed=seed, quiet=True)
        assert result, result.message


@pytest.mark.parametrize(
    "design, hint",
    [
        (lambda p: lambda x, t: marginal_velocity_of(x, t, p), "copy the training points"),
        (lambda p: kernel_design(p, h=0.5), "at least as close to new data"),
        (
            lambda p: (
                lambda x, t: fm.analytic.empirical_target(p, fm.linear_path(0.1)).velocity(x, t)
            ),
            "is the library's answer",
        ),
        (lambda p: 3, "must return a field"),
    ],
)
def test_generalising_field_refuses_copies_blur_and_shortcuts(design, hint):
    result = checks.check_generalising_field(design, seed=0, quiet=True)
    assert not result and hint in result.message, result.message


def marginal_velocity_of(x, t, points):
    t = float(t)
    w = _weights(x, torch.full((len(x),), t, dtype=x.dtype), points, torch.tensor(1 - t))
    return (w @ points - x) / (1 - t)


def marginal_divergence(x, t, points):
    """div u = (t tr Cov_q[x^(i)] / (1 - t)^2 - D) / (1 - t)."""
    s = (1 - t)[:, None]
    q = _weights(x, t, points, s)
    spread = q @ points.pow(2).sum(-1) - (q @ points).pow(2).sum(-1)
    return (t * spread / s[:, 0] ** 2 - x.shape[1]) / s[:, 0]


def test_marginal_divergence_right_and_wrong():
    for seed in range(20):
        result = checks.check_marginal_divergence(marginal_divergence, seed=seed, quiet=True)
        assert result, result.message
    frozen = checks.check_marginal_divergence(
        lambda x, t, p: -x.shape[1] / (1 - t), seed=0, quiet=True
    )
    assert not frozen and "weights q(i | x) as constants" in frozen.message, frozen.message
    shortcut = checks.check_marginal_divergence(
        lambda x, t, p: fm.likelihood.divergence_exact(fm.analytic.empirical_target(p), x, t),
        seed=0,
        quiet=True,
    )
    assert not shortcut and "is the library's answer" in shortcut.message, shortcut.message
