"""Friendly checks for the exercise notebooks: a ✔ or a specific hint, never an exception.

Each ``check_*`` calls a student's function on freshly randomised cases (a new seed every call,
so no hard-coded answer passes), compares it with an independent reference (a closed form, or
fmlib where the closed form is fmlib's job) and prints one line: ``✔ ...`` or a hint saying what
is wrong (not implemented yet, NaN, wrong shape, transposed, wrong sign, off by a constant
factor, a constant or the input returned). Whatever the student's code does, the check returns a
``CheckResult`` (truthy when passed) and never raises; grading cells ``assert`` it. The global
random state is left untouched. Exercises of Sections 6.1-6.5; Exercise 6.2 is in
``fmlib.checks_exercise``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from . import analytic, paths, solvers

__all__ = [
    "CheckResult",
    "compare",
    "run_check",
    "check_divergence",
    "check_hutchinson",
    "check_kinetic_energy",
    "check_ot_pairing",
    "check_marginal_velocity",
    "check_posterior",
    "check_score_to_velocity",
    "check_velocity_to_score",
    "check_heun_step",
    "check_guided_velocity",
]


class CheckResult:
    """What a check found: ``passed`` and the ``message`` it printed. Truthy when passed."""

    def __init__(self, name: str, passed: bool, message: str):
        self.name, self.passed, self.message = name, passed, message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, passed={self.passed})"

    def _ipython_display_(self) -> None:
        # the message is already printed; show nothing more as a cell's last value
        pass


def _fresh_seed(seed: int | None) -> int:
    return int.from_bytes(os.urandom(4), "little") if seed is None else int(seed)


def _as_tensor(out: object) -> Tensor | None:
    if isinstance(out, Tensor):
        return out.detach()
    try:
        return torch.as_tensor(out, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None


def compare(
    out: object,
    ref: Tensor,
    what: str,
    inputs: Sequence[Tensor] = (),
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> str | None:
    """None if ``out`` equals ``ref`` within tolerance; otherwise a hint naming what is wrong."""
    if out is None:
        return f"{what}: your function returned None. Did you forget `return`?"
    got = _as_tensor(out)
    if got is None:
        return f"{what}: expected a torch.Tensor of shape {tuple(ref.shape)}; got a {type(out).__name__}"
    got, ref = got.double(), ref.detach().double()
    if got.shape != ref.shape:
        if (
            got.ndim == 2
            and got.shape == ref.shape[::-1]
            and torch.allclose(got.T, ref, rtol, atol)
        ):
            return f"{what}: right numbers, but transposed: got shape {tuple(got.shape)}, expected {tuple(ref.shape)}"
        if got.numel() == ref.numel() and torch.allclose(got.reshape(ref.shape), ref, rtol, atol):
            return f"{what}: right numbers, wrong shape: got {tuple(got.shape)}, expected {tuple(ref.shape)}"
        return f"{what}: wrong shape: got {tuple(got.shape)}, expected {tuple(ref.shape)}"
    if not bool(torch.isfinite(got).all()):
        return (
            f"{what}: your result contains NaN or inf (a division by zero, or log of a negative?)"
        )
    if torch.allclose(got, ref, rtol, atol):
        return None
    if torch.allclose(got, -ref, rtol, atol):
        return f"{what}: wrong sign: you return minus the expected value"
    for x in inputs:
        if isinstance(x, Tensor) and x.shape == got.shape and torch.allclose(got, x.double()):
            return f"{what}: you return one of the inputs unchanged"
    if not bool(got.any()):
        return f"{what}: you return zeros"
    scale = float((got * ref).sum() / (ref * ref).sum().clamp_min(1e-300))
    if (
        abs(scale - 1) > 1e-3
        and abs(scale) > 1e-3
        and torch.allclose(got, scale * ref, rtol * 10, atol * 10)
    ):
        return f"{what}: off by a constant factor: yours is {scale:.4g} x the expected value"
    err = (got - ref).abs()
    i = int(err.argmax())
    return (
        f"{what}: values differ from the reference (largest error {float(err.max()):.3g}: "
        f"got {float(got.flatten()[i]):.5g} where {float(ref.flatten()[i]):.5g} was expected)"
    )


def run_check(
    name: str,
    cases: Callable[[torch.Generator], list[tuple[Callable[[], object], object, str, tuple]]],
    seed: int | None = None,
    quiet: bool = False,
    ok: str = "",
    special: Callable[[object, Tensor, tuple], str | None] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> CheckResult:
    """Run ``cases(generator)`` -> [(call, reference, label, inputs)] and report; never raises.

    A reference is a tensor to compare with, or a judge ``ref(out) -> hint or None`` for answers
    that are right by a property rather than by value.
    ``special(out, ref, inputs)`` may replace the generic hint for a wrong answer with a
    task-specific one (Euler instead of Heun, ...). An answer that is one value for every input
    of every case, while the references vary, is reported as a constant.
    """
    generator = torch.Generator().manual_seed(_fresh_seed(seed))
    message = None
    try:
        with torch.random.fork_rng(devices=[]):
            todo = cases(generator)
            for call, ref, label, inputs in todo:
                try:
                    out = call()
                except NotImplementedError:
                    message = (
                        "not implemented yet: replace `raise NotImplementedError()` with your code"
                    )
                    break
                except Exception as error:  # the student's code may fail in any way
                    message = f"{label}: your function raised {type(error).__name__}: {error}"
                    break
                if callable(ref):  # a judge for answers right by a property (any optimal pairing)
                    hint = ref(out)
                    message = f"{label}: {hint}" if hint is not None else None
                else:
                    hint = compare(out, ref, label, inputs, rtol, atol)
                    extra = special(out, ref, inputs) if hint and special is not None else None
                    message = f"{label}: {extra}" if extra else hint
                if message is not None:
                    if isinstance(ref, Tensor):
                        message = _constant(todo, out, ref) or message
                    break
    except Exception as error:  # a bug in a check must not crash a student's kernel either
        message = (
            f"the check itself failed ({type(error).__name__}: {error}); please tell your teacher"
        )
    passed = message is None
    text = f"✔ {name}: correct{'. ' + ok if ok else ''}" if passed else f"✘ {name}: {message}"
    if not quiet:
        print(text)
    return CheckResult(name, passed, text)


def _constant(todo: list, out: object, ref: object) -> str | None:
    """A hint if the answers to all cases are one and the same number while the references vary."""
    values, refs = [_as_tensor(out)], [ref]
    for call, other, _, _ in todo:
        try:
            values.append(_as_tensor(call()))
        except Exception:
            return None
        refs.append(other)
    if any(v is None or v.numel() == 0 for v in values):
        return None
    flat = torch.cat([v.double().flatten() for v in values])
    refs = [r for r in refs if isinstance(r, Tensor)]
    varying = bool(refs) and float(torch.cat([r.double().flatten() for r in refs]).std()) > 1e-9
    if bool((flat == flat[0]).all()) and (varying or not refs):
        return f"your function returns {float(flat[0]):.4g} whatever the input (a constant?)"
    return None


# Random test fields shared by the checks: a linear field with a closed-form Jacobian and a
# small nonlinear one whose Jacobian autograd gives.


def _linear_field(generator: torch.Generator, d: int):
    a = torch.randn(d, d, generator=generator, dtype=torch.float64)
    b = torch.randn(d, generator=generator, dtype=torch.float64)

    def v(x: Tensor, t: object) -> Tensor:
        t = torch.as_tensor(t, dtype=x.dtype)
        return (1 + t.reshape(-1, 1)) * (x @ a.T) + b

    return v, a


def _nonlinear_field(generator: torch.Generator, d: int):
    w_1 = torch.randn(16, d + 1, generator=generator, dtype=torch.float64)
    w_2 = torch.randn(d, 16, generator=generator, dtype=torch.float64) / 4

    def v(x: Tensor, t: object) -> Tensor:
        t = torch.as_tensor(t, dtype=x.dtype).expand(x.shape[0])
        return torch.tanh(torch.cat([x, t[:, None]], dim=1) @ w_1.T) @ w_2.T

    return v


def _jacobians(v, x: Tensor, t: object) -> Tensor:
    """dv/dx for each row: (B, D, D), row by row with torch.autograd.functional.jacobian."""
    return torch.stack(
        [torch.autograd.functional.jacobian(lambda r: v(r[None], t)[0], row) for row in x]
    )


def _batch(generator: torch.Generator) -> tuple[int, int]:
    return int(torch.randint(3, 9, (), generator=generator)), int(
        torch.randint(2, 6, (), generator=generator)
    )


# ---- Section 6.1: divergence --------------------------------------------------------------


def check_divergence(
    divergence: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``divergence(v, x, t) -> (B,)``, the exact div v by autograd. Section 6.1.2."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = _batch(g)
            t = float(torch.rand((), generator=g))
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            v, a = _linear_field(g, d)
            ref = (1 + t) * torch.trace(a) * torch.ones(b, dtype=torch.float64)
            out.append(
                (
                    lambda v=v, x=x, t=t: divergence(v, x.clone(), t),
                    ref,
                    f"linear field, D = {d}",
                    (x,),
                )
            )
            w = _nonlinear_field(g, d)
            ref = torch.diagonal(_jacobians(w, x, t), dim1=1, dim2=2).sum(1)
            out.append(
                (
                    lambda w=w, x=x, t=t: divergence(w, x.clone(), t),
                    ref,
                    f"tanh field, D = {d}",
                    (x,),
                )
            )
        return out

    return run_check("divergence", cases, seed, quiet, "It costs D backward passes.")


def check_hutchinson(
    hutchinson: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``hutchinson(v, x, t, eps) -> (B,)``: eps^T (dv/dx) eps for given probes eps: (B, D). Section 6.1.2."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = _batch(g)
            t = float(torch.rand((), generator=g))
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            eps = torch.randn(b, d, generator=g, dtype=torch.float64)
            v, a = _linear_field(g, d)
            ref = (1 + t) * torch.einsum("bi,ij,bj->b", eps, a, eps)
            call = lambda v=v, x=x, t=t, eps=eps: hutchinson(v, x.clone(), t, eps.clone())
            out.append((call, ref, f"linear field, D = {d}", (x, eps)))
            w = _nonlinear_field(g, d)
            ref = torch.einsum("bi,bij,bj->b", eps, _jacobians(w, x, t), eps)
            call = lambda w=w, x=x, t=t, eps=eps: hutchinson(w, x.clone(), t, eps.clone())
            out.append((call, ref, f"tanh field, D = {d}", (x, eps)))
        return out

    return run_check("hutchinson", cases, seed, quiet, "One backward pass, whatever D.")


# ---- Section 6.2: kinetic energy and minibatch OT ------------------------------------------


def check_kinetic_energy(
    kinetic_energy: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``kinetic_energy(xs, ts) -> float``: sum_k mean_b |x_{k+1} - x_k|^2 / (t_{k+1} - t_k). Section 6.2.2."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = _batch(g)
            k = int(torch.randint(4, 12, (), generator=g))
            ts = torch.cat(
                [torch.zeros(1), torch.rand(k - 2, generator=g).sort().values, torch.ones(1)]
            ).double()
            x_0 = torch.randn(b, d, generator=g, dtype=torch.float64)
            x_1 = 2 * torch.randn(b, d, generator=g, dtype=torch.float64)
            straight = x_0 + ts[:, None, None] * (x_1 - x_0)  # (K, B, D): energy mean |x_1 - x_0|^2
            ref = (x_1 - x_0).pow(2).sum(1).mean().reshape(())
            out.append(
                (
                    lambda xs=straight, ts=ts: kinetic_energy(xs.clone(), ts.clone()),
                    ref,
                    "straight lines",
                    (),
                )
            )
            # a piecewise-straight wiggle: each segment's energy |dx|^2 / dt, in closed form
            wiggle = straight + torch.randn(k, b, d, generator=g, dtype=torch.float64) * 0.3
            dx, dt = wiggle[1:] - wiggle[:-1], ts[1:] - ts[:-1]
            ref = sum(dx[i].pow(2).sum(1).mean() / dt[i] for i in range(k - 1)).reshape(())
            out.append(
                (
                    lambda xs=wiggle, ts=ts: kinetic_energy(xs.clone(), ts.clone()),
                    ref,
                    "zig-zag paths",
                    (),
                )
            )
        return out

    def special(out, ref, inputs):
        got = _as_tensor(out)
        if got is not None and got.numel() > 1:
            return f"expected one number (a float); got a tensor of shape {tuple(got.shape)}: average over particles and sum over steps"
        return None

    return run_check("kinetic_energy", cases, seed, quiet, special=special)


def check_ot_pairing(
    ot_pairing: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``ot_pairing(x_0, x_1) -> perm`` with x_0[perm] paired to x_1 at least total cost. Section 6.2.3.

    Any optimal permutation passes (ties allowed); the reference cost is POT's exact OT.
    """
    import numpy as np
    import ot as pot

    def emd(m: Tensor) -> float:
        b = m.shape[0]
        return float(pot.emd2(np.full(b, 1 / b), np.full(b, 1 / b), m.numpy()))

    def judge(out: object, x_0: Tensor, x_1: Tensor) -> str | None:
        b = x_0.shape[0]
        perm = _as_tensor(out)
        if perm is None or perm.shape != (b,):
            return f"expected a permutation, a ({b},) tensor of indices; got {getattr(perm, 'shape', out)}"
        if perm.is_floating_point() and not torch.equal(perm, perm.round()):
            return "expected integer indices (a permutation), got fractional numbers"
        perm = perm.long()
        if not torch.equal(perm.sort().values, torch.arange(b)):
            return "not a permutation: each index 0 .. B-1 must appear exactly once"
        m = torch.cdist(x_0, x_1).pow(2)
        best, mine = emd(m), float(m[perm, torch.arange(b)].mean())
        if abs(mine - best) <= 1e-6 * (1 + best):
            return None
        if abs(float(m[perm.argsort(), torch.arange(b)].mean()) - best) <= 1e-6 * (1 + best):
            return "transposed: you return the inverse permutation (it reorders x_1); try perm.argsort()"
        if torch.equal(perm, torch.arange(b)):
            return "you return the identity: that is the independent pairing, not OT"
        if abs(mine + emd(-m)) <= 1e-6 * (1 + best):
            return "wrong sign: your pairing maximises the total squared distance"
        return f"not optimal: mean cost {mine:.4f}, the optimal pairing costs {best:.4f} (use squared distances)"

    def cases(g):
        out = []
        for _ in range(4):
            b = int(torch.randint(6, 40, (), generator=g))
            x_0 = torch.randn(b, 2, generator=g, dtype=torch.float64)
            x_1 = torch.randn(b, 2, generator=g, dtype=torch.float64) + torch.tensor(
                [3.0, 0.0], dtype=torch.float64
            )
            call = lambda x_0=x_0, x_1=x_1: ot_pairing(x_0.clone(), x_1.clone())
            out.append((call, lambda out, x_0=x_0, x_1=x_1: judge(out, x_0, x_1), f"B = {b}", ()))
        return out

    return run_check("ot_pairing", cases, seed, quiet, "Minibatch OT in a few lines.")


# ---- Section 6.3: the exact marginal field of an empirical target --------------------------


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


# ---- Section 6.4: score <-> velocity ------------------------------------------------------


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


# ---- Section 6.5: a Heun step and classifier-free guidance ---------------------------------


def check_heun_step(
    heun_step: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``heun_step(v, x, t, dt) -> x_next``, Heun's (improved Euler) step. Section 6.5.2."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = _batch(g)
            t, dt = (
                float(0.5 * torch.rand((), generator=g)),
                float(0.05 + 0.3 * torch.rand((), generator=g)),
            )
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            a = torch.randn(d, d, generator=g, dtype=torch.float64)
            # v = A x: Heun is the second-order Taylor polynomial (I + h A + h^2 A^2 / 2) x
            step = torch.eye(d, dtype=torch.float64) + dt * a + 0.5 * dt**2 * a @ a
            call = lambda a=a, x=x, t=t, dt=dt: heun_step(
                lambda y, s, a=a: y @ a.T, x.clone(), t, dt
            )
            out.append(
                (call, x @ step.T, f"v = A x, dt = {dt:.2f}", (x, lambda y, s, a=a: y @ a.T, t, dt))
            )
            w = _nonlinear_field(g, d)
            ref = solvers.heun_step(
                w, x, torch.tensor(t, dtype=torch.float64), torch.tensor(dt, dtype=torch.float64)
            )
            call = lambda w=w, x=x, t=t, dt=dt: heun_step(w, x.clone(), t, dt)
            out.append((call, ref, f"time-dependent field, t = {t:.2f}", (x, w, t, dt)))
        return out

    def special(out, ref, inputs):
        x, v, t, dt = inputs
        got = _as_tensor(out)
        if got is None or got.shape != ref.shape:
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

    return run_check("heun_step", cases, seed, quiet, "Second order for 2 evaluations.", special)


def check_guided_velocity(
    guided_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``guided_velocity(v_uncond, v_cond, w) -> v_w``; w = 0 unconditional, w = 1 conditional. Section 6.5.3."""

    def cases(g):
        out = []
        for w in (float(1.5 + 3 * torch.rand((), generator=g)), 0.0, 1.0):
            b, d = _batch(g)
            v_u, v_c = (torch.randn(b, d, generator=g, dtype=torch.float64) for _ in range(2))
            ref = v_u + w * (v_c - v_u)
            out.append(
                (
                    lambda v_u=v_u, v_c=v_c, w=w: guided_velocity(v_u.clone(), v_c.clone(), w),
                    ref,
                    f"w = {w:.2f}",
                    (v_u, v_c, w),
                )
            )
        return out

    def special(out, ref, inputs):
        v_u, v_c, w = inputs
        got = _as_tensor(out)
        if got is None or got.shape != ref.shape:
            return None
        got = got.double()
        if w not in (0.0, 1.0) and torch.allclose(got, v_c + w * (v_c - v_u)):
            return f"w = {w:.2f}: that is the (1 + w) convention; here w = 0 must give v_uncond and w = 1 v_cond"
        if w not in (0.0, 1.0) and torch.allclose(got, v_c + w * (v_u - v_c)):
            return f"w = {w:.2f}: v_uncond and v_cond are swapped"
        return None

    return run_check("guided_velocity", cases, seed, quiet, special=special)
