"""Checks for the exercises of Section 6.5: a Heun step and classifier-free guidance."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import solvers
from ._core import (
    Case,
    CheckResult,
    as_tensor,
    matrix_field,
    nonlinear_field,
    random_batch,
    run_check,
)


def check_heun_step(
    heun_step: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``heun_step(v, x, t, dt) -> x_next``, Heun's (improved Euler) step. Section 6.5.2."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = random_batch(g)
            t, dt = (
                float(0.5 * torch.rand((), generator=g)),
                float(0.05 + 0.3 * torch.rand((), generator=g)),
            )
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            a = torch.randn(d, d, generator=g, dtype=torch.float64)
            # v = A x: Heun is the second-order Taylor polynomial (I + h A + h^2 A^2 / 2) x
            step = torch.eye(d, dtype=torch.float64) + dt * a + 0.5 * dt**2 * a @ a
            out.append(Case(f"v = A x, dt = {dt:.2f}", (matrix_field(a), x, t, dt), x @ step.T))
            w = nonlinear_field(g, d)
            ref = solvers.heun_step(
                w, x, torch.tensor(t, dtype=torch.float64), torch.tensor(dt, dtype=torch.float64)
            )
            out.append(Case(f"time-dependent field, t = {t:.2f}", (w, x, t, dt), ref))
        return out

    def hints(out, case):
        v, x, t, dt = case.inputs
        got = as_tensor(out)
        if got is None or got.shape != x.shape:
            return None
        got = got.double()
        k_1 = v(x, t)
        if torch.allclose(got, x + dt * k_1):
            return "that is Euler's step: Heun also evaluates v at the Euler predictor and averages"
        if torch.allclose(got, x + dt * v(x + 0.5 * dt * k_1, t + 0.5 * dt)):
            return "that is the midpoint step: Heun averages the slopes at both ends"
        if torch.allclose(got, x + 0.5 * dt * (k_1 + v(x + dt * k_1, t))):
            return "evaluate the second slope at time t + dt, not t"
        return None

    return run_check(
        "heun_step", heun_step, cases, seed, quiet, "Second order for 2 evaluations.", hints
    )


def check_guided_velocity(
    guided_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``guided_velocity(v_uncond, v_cond, w) -> v_w``; w = 0 unconditional, w = 1 conditional. Section 6.5.3."""

    def cases(g):
        out = []
        for w in (float(1.5 + 3 * torch.rand((), generator=g)), 0.0, 1.0):
            b, d = random_batch(g)
            v_u, v_c = (torch.randn(b, d, generator=g, dtype=torch.float64) for _ in range(2))
            out.append(Case(f"w = {w:.2f}", (v_u, v_c, w), v_u + w * (v_c - v_u)))
        return out

    def hints(out, case):
        v_u, v_c, w = case.inputs
        got = as_tensor(out)
        if got is None or got.shape != v_u.shape:
            return None
        got = got.double()
        if w not in (0.0, 1.0) and torch.allclose(got, v_c + w * (v_c - v_u)):
            return f"w = {w:.2f}: that is the (1 + w) convention; here w = 0 must give v_uncond and w = 1 v_cond"
        if w not in (0.0, 1.0) and torch.allclose(got, v_c + w * (v_u - v_c)):
            return f"w = {w:.2f}: v_uncond and v_cond are swapped"
        return None

    return run_check("guided_velocity", guided_velocity, cases, seed, quiet, hints=hints)
