"""fmlib.solvers: fixed-step Euler / Heun / midpoint / RK4 and adaptive dopri5.

Referees: the closed-form solution of a linear ODE (scipy.linalg.expm) and scipy's solve_ivp.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import fit_slope, generator, randn
from scipy.integrate import solve_ivp
from scipy.linalg import expm

import fmlib
from fmlib import solvers

A = np.array([[-0.5, 1.2], [-1.0, -0.3]])
A_T = torch.tensor(A)
ORDERS = {"euler": 1, "heun": 2, "midpoint": 2, "rk4": 4}
NFE_PER_STEP = {"euler": 1, "heun": 2, "midpoint": 2, "rk4": 4}


def linear_field(x, t):
    """dx/dt = (1 + t) A x for row vectors: time-dependent, so a wrong time offset in a step shows."""
    return (1 + t) * x @ A_T.T  # t: a float, or a 0-d tensor (dopri5) that carries gradients


def linear_exact(x0: np.ndarray, t0: float, t1: float) -> np.ndarray:
    g = lambda t: t + t**2 / 2  # the integral of (1 + t)
    return x0 @ expm(A * (g(t1) - g(t0))).T


def nonlinear_field(x, t):
    t = torch.as_tensor(t, dtype=x.dtype)
    return torch.sin(x.flip(1)) * (1 + t) - 0.3 * x + torch.cos(3 * t)


def nonlinear_field_np(t, y, batch):
    x = y.reshape(batch, 2)
    return (np.sin(x[:, ::-1]) * (1 + t) - 0.3 * x + np.cos(3 * t)).ravel()


class Counter:
    """Our own NFE count, independent of the solver's bookkeeping."""

    def __init__(self, v):
        self.v, self.calls, self.times = v, 0, []

    def __call__(self, x, t):
        self.calls += 1
        self.times.append(float(t))
        return self.v(x, t)


@pytest.mark.parametrize("method", ORDERS)
@pytest.mark.parametrize("t0, t1", [(0.0, 1.0), (1.0, 0.0)])
def test_order_of_convergence(method, t0, t1):
    x0 = randn(4)
    exact = linear_exact(x0.numpy(), t0, t1)
    steps = [4, 8, 16, 32] if method == "rk4" else [8, 16, 32, 64]
    errors = [
        np.abs(
            solvers.solve(linear_field, x0, t0, t1, method=method, steps=n).x.numpy() - exact
        ).max()
        for n in steps
    ]
    slope = fit_slope([1 / n for n in steps], errors)  # error ~ h^p: slope of log err vs log h
    assert abs(slope - ORDERS[method]) <= 0.3, f"{method}: slope {slope:.2f}, errors {errors}"


@pytest.mark.parametrize(
    "method, steps, tol", [("rk4", 200, 1e-8), ("heun", 400, 1e-4), ("dopri5", None, 1e-6)]
)
def test_agrees_with_scipy_solve_ivp_on_a_nonlinear_time_dependent_field(method, steps, tol):
    x0 = randn(5, seed=1)
    ref = (
        solve_ivp(
            nonlinear_field_np,
            (0.0, 1.0),
            x0.numpy().ravel(),
            method="RK45",
            rtol=1e-11,
            atol=1e-12,
            args=(5,),
        )
        .y[:, -1]
        .reshape(5, 2)
    )
    kw = {"steps": steps} if steps else {"rtol": 1e-8, "atol": 1e-8}
    ours = solvers.solve(nonlinear_field, x0, 0.0, 1.0, method=method, **kw).x.numpy()
    np.testing.assert_allclose(ours, ref, atol=tol, rtol=0)


@pytest.mark.parametrize("tol", [1e-3, 1e-5, 1e-7, 1e-9])
def test_dopri5_accurate_to_its_tolerance(tol):
    x0 = randn(4)
    exact = linear_exact(x0.numpy(), 0.0, 1.0)
    err = np.abs(
        solvers.solve(linear_field, x0, method="dopri5", rtol=tol, atol=tol).x.numpy() - exact
    ).max()
    assert err <= 50 * tol * max(1.0, np.abs(exact).max())


@pytest.mark.parametrize("method", ORDERS)
@pytest.mark.parametrize("steps", [1, 3, 10])
def test_fixed_step_nfe_is_exact(method, steps):
    field = Counter(linear_field)
    sol = solvers.solve(field, randn(4), method=method, steps=steps)
    assert field.calls == NFE_PER_STEP[method] * steps
    assert sol.nfe == field.calls


@pytest.mark.parametrize("tol", [1e-3, 1e-7])
@pytest.mark.parametrize("t0, t1", [(0.0, 1.0), (1.0, 0.0)])
def test_dopri5_nfe_matches_an_independent_counter(tol, t0, t1):
    field = Counter(nonlinear_field)
    sol = solvers.solve(field, randn(4), t0, t1, method="dopri5", rtol=tol, atol=tol)
    assert sol.nfe == field.calls > 0
    lo, hi = min(t0, t1), max(t0, t1)
    assert all(lo <= t <= hi for t in field.times), "the field was evaluated outside [t0, t1]"


def test_euler_evaluates_at_the_grid_times():
    field = Counter(linear_field)
    solvers.solve(field, randn(4), 0.0, 1.0, method="euler", steps=5)
    np.testing.assert_allclose(field.times, np.linspace(0, 1, 6)[:-1], atol=1e-12)
    field = Counter(linear_field)
    solvers.solve(field, randn(4), 0.0, 1.0, method="midpoint", steps=2)
    np.testing.assert_allclose(field.times, [0.0, 0.25, 0.5, 0.75], atol=1e-12)


@pytest.mark.parametrize("method", ORDERS)
def test_fixed_step_trajectory(method):
    x0 = randn(4)
    sol = solvers.solve(linear_field, x0, 0.0, 1.0, method=method, steps=20, return_trajectory=True)
    assert sol.xs.shape == (21, 4, 2)
    np.testing.assert_allclose(sol.ts.numpy(), np.linspace(0, 1, 21), atol=1e-12)
    assert torch.equal(sol.xs[0], x0) and torch.equal(sol.xs[-1], sol.x)
    tol = {"euler": 0.1, "heun": 5e-3, "midpoint": 5e-3, "rk4": 1e-5}[method]
    for k in (5, 10, 20):
        np.testing.assert_allclose(
            sol.xs[k].numpy(), linear_exact(x0.numpy(), 0.0, k / 20), atol=tol
        )
    sub = solvers.solve(
        linear_field, x0, 0.0, 1.0, method=method, steps=20, return_trajectory=True, save_at=4
    )
    assert sub.xs.shape == (5, 4, 2)
    np.testing.assert_allclose(sub.ts.numpy(), np.linspace(0, 1, 5), atol=1e-12)
    torch.testing.assert_close(sub.xs, sol.xs[::5], rtol=0, atol=0)


def test_without_trajectory():
    sol = solvers.solve(linear_field, randn(4), 0.2, 0.7, method="rk4", steps=10)
    assert sol.xs is None
    np.testing.assert_allclose(sol.ts.numpy(), [0.2, 0.7], atol=1e-12)


@pytest.mark.parametrize("save_at", [None, 10])
def test_dopri5_trajectory(save_at):
    x0 = randn(4)
    sol = solvers.solve(
        linear_field,
        x0,
        method="dopri5",
        rtol=1e-9,
        atol=1e-9,
        return_trajectory=True,
        save_at=save_at,
    )
    k = (save_at or 100) + 1
    assert sol.xs.shape == (k, 4, 2)
    np.testing.assert_allclose(sol.ts.numpy(), np.linspace(0, 1, k), atol=1e-12)
    for i in (0, k // 2, k - 1):
        np.testing.assert_allclose(
            sol.xs[i].numpy(), linear_exact(x0.numpy(), 0.0, float(sol.ts[i])), atol=1e-7
        )


@pytest.mark.parametrize("method", ["rk4", "dopri5"])
def test_backward_integration_inverts_the_forward_solution(method):
    x0 = randn(16)
    kw = {"steps": 50} if method == "rk4" else {"rtol": 1e-9, "atol": 1e-9}
    x1 = solvers.solve(nonlinear_field, x0, 0.0, 1.0, method=method, **kw).x
    back = solvers.solve(nonlinear_field, x1, 1.0, 0.0, method=method, **kw)
    np.testing.assert_allclose(back.x.numpy(), x0.numpy(), atol=1e-6)


def test_backward_trajectory_runs_from_t0_to_t1():
    x1 = randn(4)
    sol = solvers.solve(linear_field, x1, 1.0, 0.0, method="rk4", steps=40, return_trajectory=True)
    np.testing.assert_allclose(sol.ts.numpy(), np.linspace(1, 0, 41), atol=1e-12)
    np.testing.assert_allclose(sol.x.numpy(), linear_exact(x1.numpy(), 1.0, 0.0), atol=1e-5)


def test_sub_interval():
    x0 = randn(4)
    sol = solvers.solve(linear_field, x0, 0.25, 0.75, method="rk4", steps=50)
    np.testing.assert_allclose(sol.x.numpy(), linear_exact(x0.numpy(), 0.25, 0.75), atol=1e-9)


@pytest.mark.parametrize("method", ["rk4", "dopri5"])
def test_gradients_flow_through_the_solve(method):
    """d sum(x_1) / d x_0 for a linear ODE is the column sums of its transition matrix.

    The field depends on t: with dopri5 the step times depend on x_0, so the gradient is right
    only if t reaches the field as a tensor (fmlib once passed t.item() and was off by 2e-4).
    """
    x0 = randn(4).requires_grad_(True)
    kw = {"steps": 40} if method == "rk4" else {"rtol": 1e-9, "atol": 1e-9}
    solvers.solve(linear_field, x0, method=method, **kw).x.sum().backward()
    phi = expm(A * 1.5)  # g(1) - g(0) = 1.5
    np.testing.assert_allclose(x0.grad.numpy(), np.tile(phi.sum(axis=0), (4, 1)), atol=1e-6)


def test_float32_state_stays_float32():
    x0 = randn(4).float()
    field = lambda x, t: -x
    for method in (*ORDERS, "dopri5"):
        assert solvers.solve(field, x0, method=method, steps=4).x.dtype == torch.float32


def test_solver_argument_errors():
    x0 = randn(4)
    with pytest.raises(ValueError, match="method"):
        solvers.solve(linear_field, x0, method="rk45")
    with pytest.raises(ValueError, match="steps"):
        solvers.solve(linear_field, x0, steps=0)
    with pytest.raises(ValueError, match="save_at"):
        solvers.solve(linear_field, x0, steps=10, return_trajectory=True, save_at=3)
    with pytest.raises(ValueError, match="save_at"):
        solvers.solve(linear_field, x0, method="dopri5", return_trajectory=True, save_at=0)
    with pytest.raises(ValueError, match="t1"):
        solvers.solve(linear_field, x0, t1=1.5)
    with pytest.raises(ValueError, match="shaped like x"):
        solvers.solve(lambda x, t: x[:, :1], x0, steps=2)


def test_explicit_step_functions():
    """One step of each method against its Butcher tableau written out here."""
    f = lambda x, t: torch.sin(x) + t
    x, t, h = randn(4), 0.3, 0.1
    k1 = f(x, t)
    torch.testing.assert_close(solvers.euler_step(f, x, t, h), x + h * k1)
    torch.testing.assert_close(
        solvers.heun_step(f, x, t, h), x + h / 2 * (k1 + f(x + h * k1, t + h))
    )
    torch.testing.assert_close(
        solvers.midpoint_step(f, x, t, h), x + h * f(x + h / 2 * k1, t + h / 2)
    )
    k2 = f(x + h / 2 * k1, t + h / 2)
    k3 = f(x + h / 2 * k2, t + h / 2)
    k4 = f(x + h * k3, t + h)
    torch.testing.assert_close(
        solvers.rk4_step(f, x, t, h), x + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
    )


@pytest.mark.slow  # thousands of Euler steps through the adjoint (over a minute on a loaded CPU)
@pytest.mark.parametrize("method", ["euler", "heun", "midpoint", "rk4", "dopri5"])
def test_adjoint_gradients_match_backprop_through_the_solver(method):
    # The adjoint (torchdiffeq) and direct back-propagation differentiate the same ODE solution;
    # with a smooth field and fine steps both approach the exact gradient. (SiLU and slow time
    # features: a kink such as SELU's makes the adjoint's backward ODE only first-order accurate.)
    torch.manual_seed(0)
    model = fmlib.models.VectorFieldMLP(hidden=32, depth=2).double()
    model.time_embed = fmlib.models.SinusoidalTimeEmbedding(32, max_freq=2.0)
    x = torch.randn(16, 2, dtype=torch.float64)
    grads = []
    for adjoint in (False, True):
        sol = fmlib.solvers.solve(
            model,
            x,
            method="dopri5" if method == "dopri5" else "rk4",
            steps=64,
            rtol=1e-9,
            atol=1e-9,
            adjoint=adjoint,
        )
        sol.x.pow(2).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
        model.zero_grad()
    if method != "dopri5":
        # first-order Euler needs many more steps to reach the same accuracy
        sol = fmlib.solvers.solve(
            model, x, method=method, steps=4096 if method == "euler" else 256, adjoint=True
        )
        sol.x.pow(2).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    scale = grads[0].abs().max().item()
    for g in grads[1:]:
        torch.testing.assert_close(g, grads[0], rtol=1e-3, atol=2e-4 * scale)


def test_adjoint_needs_a_module():
    with pytest.raises(TypeError, match="nn.Module"):
        fmlib.solvers.solve(lambda x, t: -x, torch.randn(4, 2), adjoint=True)


def test_adjoint_keeps_no_activations_per_step():
    model = fmlib.models.VectorFieldMLP()
    x = torch.randn(64, 2)
    saved = {}
    for steps in (4, 16):
        for adjoint in (False, True):
            _, saved[steps, adjoint] = fmlib.runtime.saved_tensor_bytes(
                lambda: fmlib.solvers.solve(model, x, method="rk4", steps=steps, adjoint=adjoint)
            )
    assert saved[16, False] == pytest.approx(4 * saved[4, False], rel=0.05)
    assert saved[16, True] == saved[4, True] < saved[4, False] / 10


def test_sampler_draws_gaussian_noise_and_solves_without_gradients():
    # For v(x, t) = -x the flow map is x_1 = e^{-1} x_0, so samples are N(0, e^{-2} I).
    sample = fmlib.solvers.sampler(lambda x, t: -x, method="rk4", steps=20)
    x = sample(20_000, torch.Generator().manual_seed(0))
    assert x.shape == (20_000, 2) and not x.requires_grad
    np.testing.assert_allclose(x.std(0).numpy(), np.exp(-1.0), rtol=0.02)
    x0 = torch.randn(20_000, 2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(x, x0 * np.exp(-1.0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="method"):
        fmlib.solvers.sampler(lambda x, t: -x, method="rk45")


# dx/dt = cos(t) x: exact solution x(t1) = x(t0) e^{sin t1 - sin t0} (issue #7). The field depends
# on t, so stages evaluated at the wrong time (e.g. clamped back from beyond t1) spoil the error
# control; the tolerance below is tied to rtol = atol (3 x tol x (1 + max|x|), measured <= 0.6).
def cos_field(x, t):
    return torch.cos(torch.as_tensor(t, dtype=x.dtype)) * x


def _cos_exact(x0, t0, t1, a=1.0):
    return x0 * math.exp(a * (math.sin(t1) - math.sin(t0)))


@pytest.mark.parametrize("tol", [1e-5, 1e-7, 1e-9])
@pytest.mark.parametrize("t0, t1", [(0.0, 1.0), (1.0, 0.0), (0.2, 0.9)])
def test_dopri5_meets_its_tolerance_on_an_exact_time_dependent_solution(tol, t0, t1):
    for seed in range(5):
        x0 = randn(10, 3, seed=seed)
        exact = _cos_exact(x0, t0, t1)
        err = solvers.solve(cos_field, x0, t0, t1, method="dopri5", rtol=tol, atol=tol).x - exact
        bound = 3 * tol * (1 + exact.abs().max().item())
        assert err.abs().max().item() <= bound, (seed, err.abs().max().item(), bound)


@pytest.mark.parametrize("tol", [1e-3, 1e-5, 1e-7, 1e-9])
@pytest.mark.parametrize("t0, t1", [(0.0, 1.0), (1.0, 0.0)])
def test_dopri5_nfe_matches_torchdiffeq_called_directly(tol, t0, t1):
    """fmlib only makes torchdiffeq land on t1 instead of stepping past it and interpolating back:
    that can save the last step (6 evaluations), never add one. Measured: equal, or 6 fewer."""
    from torchdiffeq import odeint

    for seed in range(3):
        x0 = randn(10, 3, seed=seed)
        direct = Counter(cos_field)
        ts = torch.tensor([t0, t1], dtype=torch.float64)
        odeint(lambda t, x: direct(x, t), x0, ts, method="dopri5", rtol=tol, atol=tol)
        sol = solvers.solve(cos_field, x0, t0, t1, method="dopri5", rtol=tol, atol=tol)
        assert direct.calls - 6 <= sol.nfe <= direct.calls, (seed, sol.nfe, direct.calls)


class _ScaledCos(torch.nn.Module):
    """dx/dt = a cos(t) x with a learnable a: x(t1) = x0 e^{a (sin t1 - sin t0)}."""

    def __init__(self, a: float = 0.8):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(a, dtype=torch.float64))

    def forward(self, x, t):
        return self.a * torch.cos(torch.as_tensor(t, dtype=x.dtype)) * x


@pytest.mark.parametrize("tol", [1e-5, 1e-7])
@pytest.mark.parametrize("t0, t1", [(0.0, 1.0), (1.0, 0.0)])
def test_dopri5_adjoint_state_and_gradient_match_the_exact_solution(tol, t0, t1):
    """d/da sum x(t1) = sum x0 (sin t1 - sin t0) e^{a (sin t1 - sin t0)}; bounds tied to rtol."""
    field, a = _ScaledCos(), 0.8
    for seed in range(5):
        x0 = randn(10, 3, seed=seed)
        exact = _cos_exact(x0, t0, t1, a)
        grad_exact = (exact * (math.sin(t1) - math.sin(t0))).sum().item()
        field.zero_grad()
        sol = solvers.solve(field, x0, t0, t1, method="dopri5", rtol=tol, atol=tol, adjoint=True)
        sol.x.sum().backward()
        scale = tol * (1 + exact.abs().max().item())
        assert (sol.x - exact).abs().max().item() <= 3 * scale
        assert abs(field.a.grad.item() - grad_exact) <= 10 * scale, (seed, field.a.grad, grad_exact)


def test_the_vector_field_protocol_is_checked_once_at_the_entry_point():
    """Anything callable as v(x, t) is a VectorField; solve rejects anything else with a TypeError
    naming v, before any evaluation."""
    from fmlib._validate import VectorField

    assert isinstance(linear_field, VectorField)
    assert isinstance(fmlib.models.VectorFieldMLP(), VectorField)
    assert not isinstance(3.0, VectorField)
    with pytest.raises(TypeError, match=r"\bv must be a vector field"):
        solvers.solve(3.0, randn(4))
    with pytest.raises(TypeError):
        solvers.solve(linear_field, randn(4), 0.0, 1.0, "rk4")  # options are keyword-only
    with pytest.raises(TypeError):
        solvers.sampler(linear_field, "rk4")


# ---------- error_vs_nfe and rms_error -----------------------------------------------------------
# fmlib.solvers.error_vs_nfe and rms_error: a linear ODE, where Euler and RK4 have closed forms.


A_SWEEP = torch.tensor([[-0.5, 1.0], [-1.0, -0.5]], dtype=torch.float64)


def sweep_field(x, t):
    return x @ A_SWEEP.T


def test_error_vs_nfe_matches_closed_form_steps_and_counts():
    x_0 = torch.randn(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    exact = x_0 @ torch.linalg.matrix_exp(A_SWEEP).T
    runs = solvers.error_vs_nfe(sweep_field, x_0, exact, ("euler", "rk4", "dopri5"), (1, 4))
    assert [(r.method, r.steps) for r in runs] == [
        ("euler", 1),
        ("euler", 4),
        ("rk4", 1),
        ("rk4", 4),
        ("dopri5", 0),
    ]
    euler_4 = x_0 @ torch.linalg.matrix_power(torch.eye(2, dtype=A_SWEEP.dtype) + A_SWEEP / 4, 4).T
    run = runs[1]
    assert run.nfe == 4
    np.testing.assert_allclose(run.x.numpy(), euler_4.numpy(), atol=1e-12)
    by_hand = np.sqrt(((euler_4 - exact) ** 2).sum(1).mean().item())
    assert run.rms_error == pytest.approx(by_hand, rel=1e-12)
    assert runs[3].nfe == 16 and runs[3].rms_error < runs[1].rms_error
    assert runs[4].rms_error < 1e-3


def test_rms_error_and_bad_methods():
    assert solvers.rms_error(torch.zeros(4, 2), torch.full((4, 2), 3.0)) == pytest.approx(
        np.sqrt(18)
    )
    with pytest.raises(ValueError, match="same shape"):
        solvers.rms_error(torch.zeros(4, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="methods"):
        solvers.error_vs_nfe(sweep_field, torch.zeros(2, 2), torch.zeros(2, 2), ("leapfrog",))


def test_sampler_uses_steps():
    # Euler on v = A x multiplies by (I + A / n)^n: each step count gives its own, closed-form answer
    a = torch.tensor([[-0.5, 1.0], [-1.0, -0.5]])
    for steps in (1, 3):
        x = solvers.sampler(lambda x, t: x @ a.T, method="euler", steps=steps)(6, generator(5))
        x_0 = torch.randn(6, 2, generator=generator(5))
        flow_map = torch.linalg.matrix_power(torch.eye(2) + a / steps, steps)
        torch.testing.assert_close(x, x_0 @ flow_map.T, rtol=1e-6, atol=1e-6)


class _QuadraticInTime(torch.nn.Module):
    """v(x, t) = t^2 c, a module so that the adjoint can run it."""

    def __init__(self):
        super().__init__()
        self.c = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))

    def forward(self, x, t):
        t = torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1)
        return t**2 * self.c + 0 * x


@pytest.mark.parametrize("method", ["euler", "heun", "midpoint", "rk4"])
def test_adjoint_takes_the_named_fixed_step_method(method):
    # For v = t^2 c each method is a quadrature rule of int_0^1 t^2 dt on n steps, in closed form:
    # left ends, trapezoid, midpoints, Simpson (exact). A method mapped to another gives another sum.
    n = 4
    t = np.linspace(0, 1, n + 1)
    h, left, right, mid = 1 / n, t[:-1], t[1:], t[:-1] + 0.5 / n
    rule = {
        "euler": h * (left**2).sum(),
        "heun": h * 0.5 * (left**2 + right**2).sum(),
        "midpoint": h * (mid**2).sum(),
        "rk4": 1 / 3,
    }[method]
    model = _QuadraticInTime()
    x = randn(3, 2, seed=1)
    out = solvers.solve(model, x, method=method, steps=n, adjoint=True).x
    expected = x + rule * model.c.detach()
    torch.testing.assert_close(out.detach(), expected, rtol=1e-12, atol=1e-12)
