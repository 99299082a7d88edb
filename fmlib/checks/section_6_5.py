"""Checks for the exercises of Section 6.5: a Heun step and classifier-free guidance."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import analytic, ot, paths, solvers
from ..i18n import t as _t
from ._core import (
    Case,
    CheckResult,
    StudentError,
    as_tensor,
    matrix_field,
    nonlinear_field,
    random_batch,
    run_check,
    shaped,
    student_call,
)
from .section_6_4 import _path_name


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
            out.append(Case(_t("time-dependent field, t = {t:.2f}", t=t), (w, x, t, dt), ref))
        return out

    def hints(out, case):
        v, x, t, dt = case.inputs
        got = shaped(out, x.shape)
        if got is None:
            return None
        k_1 = v(x, t)
        if torch.allclose(got, x + dt * k_1):
            return _t(
                "that is Euler's step: Heun also evaluates v at the Euler predictor and averages"
            )
        if torch.allclose(got, x + dt * v(x + 0.5 * dt * k_1, t + 0.5 * dt)):
            return _t("that is the midpoint step: Heun averages the slopes at both ends")
        if torch.allclose(got, x + 0.5 * dt * (k_1 + v(x + dt * k_1, t))):
            return _t("evaluate the second slope at time t + dt, not t")
        return None

    return run_check(
        "heun_step", heun_step, cases, seed, quiet, _t("Second order for 2 evaluations."), hints
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
        got = shaped(out, v_u.shape)
        if got is None:
            return None
        if w not in (0.0, 1.0) and torch.allclose(got, v_c + w * (v_c - v_u)):
            return _t(
                "w = {w:.2f}: that is the (1 + w) convention; here w = 0 must give v_uncond and "
                "w = 1 v_cond",
                w=w,
            )
        if w not in (0.0, 1.0) and torch.allclose(got, v_c + w * (v_u - v_c)):
            return _t("w = {w:.2f}: v_uncond and v_cond are swapped", w=w)
        return None

    return run_check("guided_velocity", guided_velocity, cases, seed, quiet, hints=hints)


# The problem set of Section 6.5: the references are written out here (Butcher tableaux, Taylor
# polynomials, the whole mixture's exact velocity), never fmlib's solvers.


def _heun_reference(v, x, n: int) -> torch.Tensor:
    h = 1.0 / n
    for i in range(n):
        t = i * h
        k_1 = v(x, t)
        x = x + 0.5 * h * (k_1 + v(x + h * k_1, t + h))
    return x


def _euler_reference(v, x, n: int, t1: float = 1.0) -> torch.Tensor:
    h = t1 / n
    for i in range(n):
        x = x + h * v(x, i * h)
    return x


def check_heun_sample(
    heun_sample: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``heun_sample(v, x_0, steps) -> x_1``: Heun's method from t = 0 to 1 in uniform steps. Section 6.5.2."""

    def cases(g):
        out = []
        for _ in range(2):
            b, d = random_batch(g)
            n = int(torch.randint(3, 9, (), generator=g))
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            a = torch.randn(d, d, generator=g, dtype=torch.float64) / 2
            h = 1.0 / n
            step = torch.eye(d, dtype=torch.float64) + h * a + 0.5 * h**2 * a @ a
            ref = x @ torch.linalg.matrix_power(step, n).T
            out.append(Case(_t("v = A x, {n} steps", n=n), (matrix_field(a), x, n), ref))
            w = nonlinear_field(g, d)
            out.append(
                Case(
                    _t("time-dependent field, {n} steps", n=n), (w, x, n), _heun_reference(w, x, n)
                )
            )
        return out

    def hints(out, case):
        v, x, n = case.inputs
        got = shaped(out, x.shape)
        if got is None:
            return None
        if torch.allclose(got, _euler_reference(v, x, n)):
            return _t(
                "that is Euler's method with {n} steps; each Heun step also evaluates v at the "
                "Euler predictor",
                n=n,
            )
        if torch.allclose(got, _euler_reference(v, x, 2 * n)):
            return _t(
                "that is Euler's method with {n} steps (the same evaluations as Heun's)", n=2 * n
            )
        if n > 1 and torch.allclose(got, _heun_reference(v, x, n - 1) if n > 1 else x):
            return _t("one step short: {n} steps of size 1 / {n} end at t = 1", n=n)
        return None

    return run_check(
        "heun_sample",
        heun_sample,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=(
            "fmlib.solvers.heun_step",
            "fmlib.solvers.solve",
            "fmlib.solvers.midpoint_step",
            "fmlib.solvers.rk4_step",
        ),
    )


def _rk2_reference(v, x, t, dt, c, b_1, b_2):
    k_1 = v(x, t)
    k_2 = v(x + c * dt * k_1, t + c * dt)
    return x + dt * (b_1 * k_1 + b_2 * k_2)


def check_rk2_step(rk2_step: Callable, seed: int | None = None, quiet: bool = False) -> CheckResult:
    """``rk2_step(v, x, t, dt, c) -> x_next``: the second-order two-stage explicit Runge-Kutta step
    whose second slope is taken at t + c dt. Section 6.5.2. c = 1 is Heun's, c = 1/2 the midpoint."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = random_batch(g)
            c = float(0.25 + 0.2 * torch.rand((), generator=g))  # away from 1/2 and from 1
            c = c if torch.rand((), generator=g) < 0.5 else c + 0.35
            t = torch.rand(b, generator=g, dtype=torch.float64) * 0.6
            dt = float(0.1 + 0.2 * torch.rand((), generator=g))
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            w = nonlinear_field(g, d)
            ref = _rk2_reference(w, x, t, dt, c, 1 - 0.5 / c, 0.5 / c)
            out.append(Case(f"c = {c:.2f}, dt = {dt:.2f}", (w, x, t, dt, c), ref))
        return out

    def hints(out, case):
        v, x, t, dt, c = case.inputs
        got = shaped(out, x.shape)
        if got is None:
            return None
        if torch.allclose(got, _rk2_reference(v, x, t, dt, c, 0.5, 0.5)):
            return _t(
                "c = {c:.2f}: equal weights 1/2, 1/2 are second order only for c = 1 (Heun); "
                "derive the weights from the Taylor expansion",
                c=c,
            )
        if torch.allclose(got, _rk2_reference(v, x, t, dt, c, 0.0, 1.0)):
            return _t(
                "c = {c:.2f}: weights 0, 1 are second order only for c = 1/2 (the midpoint)", c=c
            )
        if torch.allclose(got, _rk2_reference(v, x, t, dt, c, 0.5 / c, 1 - 0.5 / c)):
            return _t("the two weights are swapped")
        k_1 = v(x, t)
        bad = x + dt * ((1 - 0.5 / c) * k_1 + 0.5 / c * v(x + c * dt * k_1, t))
        if torch.allclose(got, bad):
            return _t("the second slope is taken at time t + c dt, not t")
        return None

    return run_check(
        "rk2_step",
        rk2_step,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=("fmlib.solvers.heun_step", "fmlib.solvers.midpoint_step"),
    )


def check_guided_velocity_gamma(
    guided_velocity_gamma: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``guided_velocity_gamma(v_uncond, v_cond, gamma) -> v``: guidance in the (1 + gamma)
    convention, gamma = 0 the conditional field. Section 6.5.3."""

    def cases(g):
        out = []
        for gamma in (float(0.5 + 3 * torch.rand((), generator=g)), 0.0, -1.0):
            b, d = random_batch(g)
            v_u, v_c = (torch.randn(b, d, generator=g, dtype=torch.float64) for _ in range(2))
            ref = (1 + gamma) * v_c - gamma * v_u
            out.append(Case(f"gamma = {gamma:.2f}", (v_u, v_c, gamma), ref))
        return out

    def hints(out, case):
        v_u, v_c, gamma = case.inputs
        got = shaped(out, v_u.shape)
        if got is None:
            return None
        if torch.allclose(got, v_u + gamma * (v_c - v_u)):
            return _t(
                "gamma = {gamma:.2f}: that is the section's convention (w = 0 unconditional); "
                "here gamma = 0 must give v_cond",
                gamma=gamma,
            )
        if torch.allclose(got, (1 + gamma) * v_u - gamma * v_c):
            return _t("gamma = {gamma:.2f}: v_uncond and v_cond are swapped", gamma=gamma)
        return None

    return run_check(
        "guided_velocity_gamma",
        guided_velocity_gamma,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=("fmlib.models.guided_field",),
    )


def check_unconditional_velocity(
    unconditional_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``unconditional_velocity(v_cond, log_p_cond, log_prior) -> u_t``: the marginal velocity
    from the class-conditional ones. Section 6.5.3.

    ``v_cond``: (K, B, D) exact velocities of each class's path; ``log_p_cond``: (K, B), log p_t(x | y);
    ``log_prior``: (K,). The reference is the exact velocity of the whole mixture.
    """

    def cases(g):
        out = []
        for name, path in (("linear", paths.linear_path()), ("cosine", paths.cosine_path())):
            for _ in range(2):
                b, d = random_batch(g)
                k = int(torch.randint(2, 4, (), generator=g))
                sizes = torch.randint(1, 4, (k,), generator=g).tolist()
                prior = torch.rand(k, generator=g, dtype=torch.float64) + 0.2
                prior = prior / prior.sum()
                classes, all_means, all_vars, all_w = [], [], [], []
                for j, n in enumerate(sizes):
                    m = 1.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
                    c = 0.05 + 0.4 * torch.rand(n, generator=g, dtype=torch.float64)
                    classes.append(analytic.GaussianMixture(m, c, path=path))
                    all_means.append(m)
                    all_vars.append(c)
                    all_w.append(torch.full((n,), float(prior[j]) / n, dtype=torch.float64))
                whole = analytic.GaussianMixture(
                    torch.cat(all_means), torch.cat(all_vars), torch.cat(all_w), path=path
                )
                t = 0.1 + 0.8 * torch.rand(b, generator=g, dtype=torch.float64)
                x = 1.5 * torch.randn(b, d, generator=g, dtype=torch.float64)
                v_cond = torch.stack([c.velocity(x, t) for c in classes])
                log_p = torch.stack([c.log_prob(x, t) for c in classes])
                inputs = (v_cond, log_p, prior.log())
                label = _t("{path}, K = {k} classes", path=_path_name(name), k=k)
                out.append(Case(label, inputs, whole.velocity(x, t)))
        return out

    def hints(out, case):
        v_cond, log_p, log_prior = case.inputs
        got = shaped(out, v_cond.shape[1:])
        if got is None:
            return None
        if torch.allclose(got, (log_prior.exp()[:, None, None] * v_cond).sum(0)):
            return _t(
                "you weighted the classes by their prior p(y) alone: at x_t the weight is the "
                "posterior p(y | x_t), which needs log p_t(x | y) too"
            )
        if torch.allclose(got, v_cond.mean(0)):
            return _t("a plain average of the classes: weight each by its posterior p(y | x_t)")
        if torch.allclose(got, (torch.softmax(log_p, 0)[:, :, None] * v_cond).sum(0)):
            return _t("the prior p(y) is missing from the posterior weights")
        return None

    return run_check(
        "unconditional_velocity",
        unconditional_velocity,
        cases,
        seed,
        quiet,
        hints=hints,
        withheld=("fmlib.analytic.GaussianMixture.velocity",),
    )


def check_gap_avoiding_path(
    path_sample: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``path_sample(x_0, x_1, t) -> (x_t, u_t)``: a conditional path from noise to two-moons data
    that spends less time in the moons' gap than the straight one. Section 6.5.1, an open task.

    Any path passes that (1) starts at x_0 and ends at x_1, (2) has u_t = dx_t/dt (central
    differences), (3) spends at most 0.8 of the straight path's share of time in
    ``fmlib.data.moons_gap`` on the same pairs, (4) with at most twice its kinetic energy.
    """
    from .. import data

    def verdict(out, x_0, x_1, t):
        def call(s):
            res = student_call(path_sample, x_0.clone(), x_1.clone(), s, what=_t("your path"))
            if not (isinstance(res, tuple | list) and len(res) == 2):
                raise StudentError(
                    _t("expected a pair (x_t, u_t); got {kind}", kind=type(res).__name__)
                )
            x_t, u_t = (as_tensor(r) for r in res)
            for r, what in ((x_t, "x_t"), (u_t, "u_t")):
                if r is None or r.shape != x_0.shape:
                    raise StudentError(
                        _t(
                            "{what} must be a tensor of shape {shape}",
                            what=what,
                            shape=tuple(x_0.shape),
                        )
                    )
                if not bool(torch.isfinite(r).all()):
                    raise StudentError(_t("{what} contains NaN or inf", what=what))
            return x_t.double(), u_t.double()

        b = x_0.shape[0]

        start, _ = call(torch.zeros(b, dtype=torch.float64))
        end, _ = call(torch.ones(b, dtype=torch.float64))
        if not torch.allclose(start, x_0, atol=1e-5):
            return _t("at t = 0 the path must be at x_0 (the noise)")
        if not torch.allclose(end, x_1, atol=1e-5):
            return _t("at t = 1 the path must be at x_1 (the data)")
        h = 1e-5
        s = 0.05 + 0.9 * t
        x_plus, _ = call(s + h)
        x_minus, _ = call(s - h)
        _, u_mid = call(s)
        if not torch.allclose(u_mid, (x_plus - x_minus) / (2 * h), rtol=1e-3, atol=1e-3):
            return _t("u_t is not the time derivative of x_t (compared with central differences)")
        ts = torch.linspace(0, 1, 65, dtype=torch.float64)
        steps = [call(torch.full((b,), float(s), dtype=torch.float64)) for s in ts]
        xs, us = (torch.stack([step[i] for step in steps]) for i in (0, 1))
        straight = torch.stack([(1 - s) * x_0 + s * x_1 for s in ts])
        mine, base = (ot.time_in_region(z, ts, data.moons_gap) for z in (xs, straight))
        energy = float(torch.trapezoid(us.pow(2).sum(-1).mean(-1), ts))
        base_energy = float((x_1 - x_0).pow(2).sum(-1).mean())
        if mine > 0.8 * base:
            return _t(
                "your path spends {mine:.1%} of its time in the gap, the straight one {base:.1%}: "
                "aim for at most 0.8 x the straight path's share",
                mine=mine,
                base=base,
            )
        if energy > 2 * base_energy:
            return _t(
                "less time in the gap ({mine:.1%} against {base:.1%}), but kinetic energy "
                "{energy:.2f} against the straight path's {base_energy:.2f}: at most 2 x",
                mine=mine,
                base=base,
                energy=energy,
                base_energy=base_energy,
            )
        return None

    def cases(g):
        x_0 = torch.randn(2000, 2, generator=g, dtype=torch.float64)
        x_1 = data.two_moons(2000, g).double()
        t = torch.rand(2000, generator=g, dtype=torch.float64)
        return [Case(_t("2000 noise-data pairs"), (x_0, x_1, t), verdict)]

    return run_check(
        "gap_avoiding_path",
        path_sample,
        cases,
        seed,
        quiet,
        withheld=("fmlib.paths.AffinePath.sample", "fmlib.paths.CurvedPath.sample"),
    )
