"""Sampling by solving dx_t/dt = v(x_t, t). Section 6.5.2.

Fixed-step Euler, Heun (improved Euler), midpoint and classical RK4 are written out here, since
they are the lesson; adaptive Dormand-Prince (dopri5) is delegated to torchdiffeq. Every solver
counts the number of function evaluations (NFE) exactly, can return the whole trajectory, and
integrates backwards (t from 1 to 0) when t0 > t1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from . import runtime
from ._validate import VectorField, check_field, check_points, check_positive_int

__all__ = [
    "ODESolution",
    "euler_step",
    "heun_step",
    "midpoint_step",
    "rk4_step",
    "solve",
    "sampler",
    "METHODS",
    "FIXED_STEP",
    "SolverRun",
    "rms_error",
    "error_vs_nfe",
    "convergence_order",
    "nfe_to_reach",
]

Field = VectorField  # the protocol v(x, t) -> (B, D), declared once in fmlib._validate


class ODESolution(NamedTuple):
    """x: (B, D) at t1; xs: (K, B, D) at times ts: (K,) when the trajectory was kept; nfe: int."""

    x: Tensor
    xs: Tensor | None
    ts: Tensor
    nfe: int


def euler_step(v: Field, x: Tensor, t: Tensor, dt: Tensor) -> Tensor:
    """x_{t+dt} = x_t + dt v(x_t, t): first order, one evaluation. Section 6.5.2."""
    return x + dt * v(x, t)


def heun_step(v: Field, x: Tensor, t: Tensor, dt: Tensor) -> Tensor:
    """Improved Euler: average the slopes at both ends of an Euler predictor; second order, 2 NFE."""
    k1 = v(x, t)
    k2 = v(x + dt * k1, t + dt)
    return x + 0.5 * dt * (k1 + k2)


def midpoint_step(v: Field, x: Tensor, t: Tensor, dt: Tensor) -> Tensor:
    """Explicit midpoint: the slope half a step ahead; second order, 2 NFE."""
    return x + dt * v(x + 0.5 * dt * v(x, t), t + 0.5 * dt)


def rk4_step(v: Field, x: Tensor, t: Tensor, dt: Tensor) -> Tensor:
    """Classical fourth-order Runge-Kutta; 4 NFE."""
    k1 = v(x, t)
    k2 = v(x + 0.5 * dt * k1, t + 0.5 * dt)
    k3 = v(x + 0.5 * dt * k2, t + 0.5 * dt)
    k4 = v(x + dt * k3, t + dt)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


FIXED_STEP = {"euler": euler_step, "heun": heun_step, "midpoint": midpoint_step, "rk4": rk4_step}
METHODS = (*FIXED_STEP, "dopri5")


class _Counted:
    """Wrap v(x, t) to count evaluations and check each returned velocity's shape."""

    def __init__(self, v: Field):
        self.v, self.nfe = v, 0

    def __call__(self, x: Tensor, t: Tensor) -> Tensor:
        self.nfe += 1
        runtime.tick()
        out = self.v(x, t)
        if not isinstance(out, Tensor):
            raise TypeError(
                f"the vector field v(x, t) must return a tensor shaped like x {tuple(x.shape)}; "
                f"got {type(out).__name__}"
            )
        if out.shape != x.shape:
            raise ValueError(
                f"the vector field v(x, t) must return a tensor shaped like x {tuple(x.shape)}; "
                f"got {getattr(out, 'shape', type(out).__name__)}"
            )
        return out


def solve(
    v: Field,
    x_init: Tensor,
    t0: float = 0.0,
    t1: float = 1.0,
    *,
    method: str = "euler",
    steps: int = 100,
    return_trajectory: bool = False,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    save_at: int | None = None,
    adjoint: bool = False,
) -> ODESolution:
    """Integrate dx/dt = v(x, t) from x(t0) = x_init to t1 (backwards if t0 > t1). Section 6.5.2.

    ``v(x, t)`` takes x: (B, D) and a float t (a 0-d tensor for dopri5) and returns (B, D). Fixed-step methods take
    ``steps`` equal steps; ``dopri5`` (torchdiffeq) adapts its steps to ``rtol``/``atol`` and
    ignores ``steps``. With ``return_trajectory`` the states at ``save_at + 1`` equally spaced
    times (default: every fixed step, or 101 times for dopri5) come back in ``xs``.
    Gradients flow through the solve unless the caller uses ``torch.no_grad()``. With
    ``adjoint=True`` (``v`` must be a ``torch.nn.Module``) torchdiffeq's adjoint method computes
    them by a second, backward solve instead of storing every step (Section 6.1.1).
    """
    check_field(v, "v")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    check_points(x_init, "x_init")
    check_positive_int(steps, "steps")
    for name, value in (("t0", t0), ("t1", t1)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a float in [0, 1]; got {type(value).__name__}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a float in [0, 1]; got {value!r}")
    if return_trajectory and save_at is not None:
        check_positive_int(save_at, "save_at")
    field = _Counted(v)
    if adjoint:
        return _solve_adjoint(v, field, x_init, float(t0), float(t1), method, steps, rtol, atol)
    if method == "dopri5":
        return _solve_dopri5(
            field, x_init, float(t0), float(t1), rtol, atol, return_trajectory, save_at
        )

    ts = torch.linspace(float(t0), float(t1), steps + 1, dtype=torch.float64)
    keep_every = 1
    if return_trajectory and save_at is not None:
        check_positive_int(save_at, "save_at")
        if steps % save_at:
            raise ValueError(f"save_at must divide steps = {steps}; got {save_at}")
        keep_every = steps // save_at
    step = FIXED_STEP[method]
    x, xs = x_init, [x_init] if return_trajectory else None
    for k in range(steps):
        t, dt = ts[k].item(), (ts[k + 1] - ts[k]).item()
        x = step(field, x, t, dt)
        if xs is not None and (k + 1) % keep_every == 0:
            xs.append(x)
    ts_out = (
        ts[::keep_every].to(x_init.dtype) if return_trajectory else ts[[0, -1]].to(x_init.dtype)
    )
    return ODESolution(x, torch.stack(xs) if xs is not None else None, ts_out, field.nfe)


def sampler(
    v: Field, *, method: str = "dopri5", steps: int = 100, dim: int = 2
) -> Callable[[int, torch.Generator], Tensor]:
    """A sampler ``(n, generator) -> x_1: (n, dim)``: draw x_0 ~ N(0, I), solve from t = 0 to 1.

    Runs without gradients; the form ``fmlib.ot.w2_median`` and ``w2_report`` expect. Section 6.5.2.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        check_positive_int(n, "n")
        with torch.no_grad():
            return solve(v, torch.randn(n, dim, generator=generator), method=method, steps=steps).x

    return sample


def _dopri5_options(t0: float, t1: float) -> dict:
    """Make torchdiffeq's adaptive solver land exactly on the end points instead of stepping past.

    By default dopri5 takes its last step beyond t1 and interpolates back, which evaluates the field
    at t > t1. ``step_t`` (a tensor, so torchdiffeq flips it for backward solves) makes it shorten
    the step that would cross a listed time and land on it: no stage is evaluated outside
    [t0, t1], and the error control sees the true field at every stage. Both end points are listed
    so that the adjoint's backward solve (which reuses these options) also lands on t0.
    """
    return {"step_t": torch.tensor([t0, t1], dtype=torch.float64)}


def _clamped_time(t: Tensor, lo: float, hi: float) -> Tensor:
    """t clamped into [lo, hi] with an identity gradient.

    With ``step_t`` every Runge-Kutta stage lies in [t0, t1], so this changes nothing during the
    solve; only torchdiffeq's first-step heuristic (Hairer, Norsett and Wanner II.4) probes the
    field once at t0 + h0, which may lie beyond t1 for a short interval or a slow field. That probe
    only sizes the first step (its error is then controlled), so clamping it keeps fields that are
    defined on [0, 1] alone (``VectorFieldMLP`` rejects t > 1) safe without corrupting the solve.
    """
    return t + (t.clamp(lo, hi) - t).detach()


def _solve_dopri5(field, x_init, t0, t1, rtol, atol, return_trajectory, save_at) -> ODESolution:
    from torchdiffeq import odeint

    n_out = (save_at or 100) + 1 if return_trajectory else 2
    ts = torch.linspace(t0, t1, n_out, dtype=x_init.dtype)
    lo, hi = min(t0, t1), max(t0, t1)

    # t stays a 0-d tensor: the adaptive step times depend on x, and a float t (t.item()) would cut
    # that dependence out of the gradient while the step sizes keep it (wrong d x_1 / d x_0).
    def f(t: Tensor, x: Tensor) -> Tensor:
        return field(x, _clamped_time(t, lo, hi))

    xs = odeint(
        f, x_init, ts, method="dopri5", rtol=rtol, atol=atol, options=_dopri5_options(t0, t1)
    )
    return ODESolution(xs[-1], xs if return_trajectory else None, ts, field.nfe)


class _AdjointFunc(torch.nn.Module):
    """torchdiffeq's f(t, x) around v(x, t), registering v's parameters for the adjoint pass."""

    def __init__(self, v: torch.nn.Module, field: _Counted, lo: float, hi: float):
        super().__init__()
        self.v, self.field, self.lo, self.hi = v, field, lo, hi

    def forward(self, t: Tensor, x: Tensor) -> Tensor:
        return self.field(x, _clamped_time(t, self.lo, self.hi))


def _solve_adjoint(v, field, x_init, t0, t1, method, steps, rtol, atol) -> ODESolution:
    from torchdiffeq import odeint_adjoint

    if not isinstance(v, torch.nn.Module):
        raise TypeError(
            f"adjoint=True needs v to be a torch.nn.Module (its parameters get gradients); got {type(v).__name__}"
        )
    ts = torch.tensor([t0, t1], dtype=x_init.dtype)
    if method == "dopri5":
        options = _dopri5_options(t0, t1)
        # torchdiffeq runs the adjoint's backward solve on its normalised time axis (-t when
        # t0 > t1), where the end points carry the opposite sign: hand it them on that axis.
        adjoint_options = {"step_t": options["step_t"] * (-1.0 if t0 > t1 else 1.0)}
    else:
        options = adjoint_options = {"step_size": abs(t1 - t0) / steps}
    # torchdiffeq names Heun's method "heun2"; its "rk4" is the 3/8-rule variant of RK4.
    func = _AdjointFunc(v, field, min(t0, t1), max(t0, t1))
    xs = odeint_adjoint(
        func,
        x_init,
        ts,
        method={"heun": "heun2"}.get(method, method),
        rtol=rtol,
        atol=atol,
        options=options,
        adjoint_options=adjoint_options,
    )
    return ODESolution(xs[-1], None, ts, field.nfe)


class SolverRun(NamedTuple):
    """One solve of ``error_vs_nfe``: method, steps (0 for dopri5), x at t1, NFE, RMS error."""

    method: str
    steps: int
    x: Tensor
    nfe: int
    rms_error: float


def rms_error(x: Tensor, reference: Tensor) -> float:
    """sqrt(mean_i ||x_i - reference_i||^2) over the B points of x, reference: (B, D). Section 6.5.2."""
    check_points(x, "x")
    check_points(reference, "reference")
    if x.shape != reference.shape:
        raise ValueError(
            f"x and reference must have the same shape (B, D); got {tuple(x.shape)} and {tuple(reference.shape)}"
        )
    return float((x - reference).pow(2).sum(1).mean().sqrt())


def error_vs_nfe(
    v: Field,
    x_0: Tensor,
    reference: Tensor,
    methods: tuple[str, ...] = METHODS,
    steps: tuple[int, ...] = (1, 2, 4, 8, 16, 32),
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> list[SolverRun]:
    """Error at t = 1 against cost: every method at every step count (dopri5 once). Section 6.5.2.

    Solves dx/dt = v from x_0: (B, D) at t = 0 to t = 1 without a graph and measures the RMS
    distance to ``reference`` (e.g. a tight dopri5 solve). dopri5 adapts to ``rtol``/``atol``
    and ignores ``steps``: it runs once, with steps = 0 in its ``SolverRun``.
    """
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}; got {list(methods)}")
    runs = []
    with torch.no_grad():
        for method in methods:
            for n in steps if method in FIXED_STEP else (0,):
                sol = solve(v, x_0, method=method, steps=max(n, 1), rtol=rtol, atol=atol)
                runs.append(SolverRun(method, n, sol.x, sol.nfe, rms_error(sol.x, reference)))
    return runs


def convergence_order(
    runs: list[SolverRun], method: str, steps: tuple[int, ...] | None = None
) -> float:
    """The empirical order p of ``method``: minus the least-squares slope of log error against log steps.

    ``runs`` come from ``error_vs_nfe``; ``steps`` picks the step counts to fit (default: all of the
    method's). An error C h^p with h = 1 / steps gives p exactly. Section 6.5.2.
    """
    mine = [r for r in runs if r.method == method and (steps is None or r.steps in steps)]
    if method not in FIXED_STEP or len(mine) < 2:
        raise ValueError(
            f"convergence_order needs a fixed-step method with runs at two or more step counts; "
            f"got {method!r} with {len(mine)} runs"
        )
    log_n = torch.tensor([float(r.steps) for r in mine], dtype=torch.float64).log()
    log_e = torch.tensor([max(r.rms_error, 1e-300) for r in mine], dtype=torch.float64).log()
    dn = log_n - log_n.mean()
    return float(-(dn * (log_e - log_e.mean())).sum() / dn.pow(2).sum())


def nfe_to_reach(runs: list[SolverRun], method: str, target: float) -> float:
    """NFE at which ``method``'s error first falls to ``target``, interpolated on log-log axes.

    The runs of ``method`` (from ``error_vs_nfe``, or dopri5 runs at several tolerances) are taken
    in order of NFE; between the last run above ``target`` and the first at or below it the NFE is
    read off the straight line through them in log NFE against log error. ``inf`` when no run gets
    there; the first run's NFE when it already does. Section 6.5.2.
    """
    if not target > 0:
        raise ValueError(f"target must be a positive error; got {target!r}")
    mine = sorted((r for r in runs if r.method == method), key=lambda r: (r.nfe, -r.rms_error))
    if not mine:
        raise ValueError(f"no runs of method {method!r}")
    for k, r in enumerate(mine):
        if r.rms_error <= target:
            if k == 0:
                return float(r.nfe)
            prev = mine[k - 1]
            log_n0, log_n1 = math.log(prev.nfe), math.log(r.nfe)
            log_e0, log_e1 = math.log(prev.rms_error), math.log(max(r.rms_error, 1e-300))
            frac = (math.log(target) - log_e0) / (log_e1 - log_e0)
            return math.exp(log_n0 + frac * (log_n1 - log_n0))
    return float("inf")
