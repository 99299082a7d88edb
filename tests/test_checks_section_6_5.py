"""The Section 6.5 problem-set checks: right answers pass on many seeds, plausible wrong ones get
the hint that names their mistake, and fmlib's solvers and paths are no shortcut."""

from __future__ import annotations

import math

import pytest
import torch

import fmlib as fm
from fmlib import checks


def heun_sample(v, x, steps):
    h = 1.0 / steps
    for i in range(steps):
        k_1 = v(x, i * h)
        x = x + 0.5 * h * (k_1 + v(x + h * k_1, (i + 1) * h))
    return x


def euler_sample(v, x, steps):
    for i in range(steps):
        x = x + v(x, i / steps) / steps
    return x


def rk2(v, x, t, dt, c, b_1=None, b_2=None):
    b_2 = 0.5 / c if b_2 is None else b_2
    b_1 = 1 - b_2 if b_1 is None else b_1
    k_1 = v(x, t)
    return x + dt * (b_1 * k_1 + b_2 * v(x + c * dt * k_1, t + c * dt))


def unconditional(v_cond, log_p, log_prior):
    weights = torch.softmax(log_prior[:, None] + log_p, dim=0)  # p(y | x_t): (K, B)
    return (weights[:, :, None] * v_cond).sum(0)


def cube_path(x_0, x_1, t):
    """Reparametrised time: s = 1 - (1 - t)^3 moves fast near the noise, slowly near the data."""
    t = t[:, None]
    return x_0 + (1 - (1 - t) ** 3) * (x_1 - x_0), 3 * (1 - t) ** 2 * (x_1 - x_0)


def cosine_path(x_0, x_1, t):
    """A different design: the cosine path, written out."""
    a = 0.5 * math.pi * t[:, None]
    return a.sin() * x_1 + a.cos() * x_0, 0.5 * math.pi * (a.cos() * x_1 - a.sin() * x_0)


def straight(x_0, x_1, t):
    t = t[:, None]
    return (1 - t) * x_0 + t * x_1, x_1 - x_0


RIGHT = [
    (checks.check_heun_sample, heun_sample),
    (checks.check_rk2_step, rk2),
    (checks.check_guided_velocity_gamma, lambda v_u, v_c, g: (1 + g) * v_c - g * v_u),
    (checks.check_unconditional_velocity, unconditional),
]


@pytest.mark.parametrize("check, answer", RIGHT, ids=lambda f: getattr(f, "__name__", ""))
def test_right_answers_pass_on_many_seeds(check, answer):
    for seed in range(25):
        result = check(answer, seed=seed, quiet=True)
        assert result, result.message


@pytest.mark.parametrize("design", [cube_path, cosine_path])
def test_two_different_path_designs_pass(design):
    for seed in range(3):
        result = checks.check_gap_avoiding_path(design, seed=seed, quiet=True)
        assert result, result.message


WRONG = [
    (checks.check_heun_sample, euler_sample, "Euler's method with"),
    (checks.check_heun_sample, lambda v, x, n: euler_sample(v, x, 2 * n), "the same evaluations"),
    (checks.check_heun_sample, lambda v, x, n: heun_sample(v, x, n - 1), "one step short"),
    (checks.check_rk2_step, lambda v, x, t, dt, c: rk2(v, x, t, dt, c, 0.5, 0.5), "equal weights"),
    (
        checks.check_rk2_step,
        lambda v, x, t, dt, c: rk2(v, x, t, dt, c, 0.0, 1.0),
        "only for c = 1/2",
    ),
    (
        checks.check_rk2_step,
        lambda v, x, t, dt, c: rk2(v, x, t, dt, c, 0.5 / c, 1 - 0.5 / c),
        "swapped",
    ),
    (
        checks.check_rk2_step,
        lambda v, x, t, dt, c: (
            x + dt * ((1 - 0.5 / c) * v(x, t) + 0.5 / c * v(x + c * dt * v(x, t), t))
        ),
        "t + c dt",
    ),
    (
        checks.check_guided_velocity_gamma,
        lambda v_u, v_c, g: v_u + g * (v_c - v_u),
        "section's convention",
    ),
    (
        checks.check_guided_velocity_gamma,
        lambda v_u, v_c, g: (1 + g) * v_u - g * v_c,
        "swapped",
    ),
    (
        checks.check_unconditional_velocity,
        lambda v, lp, lpr: (lpr.exp()[:, None, None] * v).sum(0),
        "prior p(y) alone",
    ),
    (checks.check_unconditional_velocity, lambda v, lp, lpr: v.mean(0), "plain average"),
    (
        checks.check_unconditional_velocity,
        lambda v, lp, lpr: (torch.softmax(lp, 0)[:, :, None] * v).sum(0),
        "prior p(y) is missing",
    ),
    (checks.check_gap_avoiding_path, straight, "0.8 x the straight"),
    (
        checks.check_gap_avoiding_path,
        lambda x_0, x_1, t: (
            x_0 + (1 - (1 - t[:, None]) ** 40) * (x_1 - x_0),
            40 * (1 - t[:, None]) ** 39 * (x_1 - x_0),
        ),
        "kinetic energy",
    ),
    (
        checks.check_gap_avoiding_path,
        lambda x_0, x_1, t: (cube_path(x_0, x_1, t)[0], x_1 - x_0),
        "time derivative",
    ),
    (
        checks.check_gap_avoiding_path,
        lambda x_0, x_1, t: (cube_path(x_1, x_0, t)[0], cube_path(x_1, x_0, t)[1]),
        "at t = 0",
    ),
    (checks.check_gap_avoiding_path, lambda x_0, x_1, t: x_0, "pair (x_t, u_t)"),
]


@pytest.mark.parametrize(
    "check, answer, hint", WRONG, ids=lambda x: x if isinstance(x, str) else ""
)
def test_wrong_answers_fail_with_the_right_hint(check, answer, hint):
    for seed in (0, 1):
        result = check(answer, seed=seed, quiet=True)
        assert not result and hint in result.message, result.message


SHORTCUTS = [
    (
        checks.check_heun_sample,
        lambda v, x, n: fm.solve(v, x, method="heun", steps=n).x,
        "fm.solvers.",
    ),
    (
        checks.check_rk2_step,
        lambda v, x, t, dt, c: fm.solvers.heun_step(v, x, t, dt),
        "fm.solvers.heun_step",
    ),
    (
        checks.check_gap_avoiding_path,
        lambda x_0, x_1, t: tuple(fm.cosine_path().sample(x_0, x_1, t)[3:]),
        "fm.paths.AffinePath.sample",
    ),
]


@pytest.mark.parametrize(
    "check, answer, name", SHORTCUTS, ids=lambda x: x if isinstance(x, str) else ""
)
def test_fmlib_shortcut_is_refused(check, answer, name):
    result = check(answer, seed=0, quiet=True)
    assert not result and name in result.message, result.message
