"""Checks for the chapter's Exercise 6.2 (design a flow-matching model for two moons).

Same contract as the section checks of ``fmlib.checks``: randomised cases, independent
references, a ✔ or a specific hint, never an exception. The notebook imports it as
``from fmlib.checks import exercise_6_2 as checks``. Exercise 6.2.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor

from .. import data, ot, solvers
from ._core import Case, CheckResult, as_tensor, matrix_field, random_batch, run_check

__all__ = [
    "check_time_embedding",
    "check_vector_field",
    "check_cfm_loss",
    "check_training_loop",
    "check_euler_sample",
    "check_curved_velocity",
]


def check_time_embedding(
    time_embedding: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``time_embedding(t, dim, max_freq) -> (B, dim)``: sin and cos of w_k t. Exercise 6.2.1.

    w_k = max_freq^(k / (dim/2 - 1)), k = 0 .. dim/2 - 1 (geometric from 1 to max_freq). Any
    order of the columns passes (sin block then cos block, or interleaved).
    """

    def judge(out: object, t: Tensor, dim: int, max_freq: float) -> str | None:
        freqs = torch.exp(torch.linspace(0.0, math.log(max_freq), dim // 2, dtype=torch.float64))
        args = t.double()[:, None] * freqs[None]
        ref = torch.cat([args.sin(), args.cos()], dim=1)  # (B, dim)
        got = as_tensor(out)
        if got is None:
            return f"expected a tensor of shape ({t.shape[0]}, {dim}); got {type(out).__name__}"
        if got.shape != ref.shape and got.shape == (dim, t.shape[0]):
            return f"transposed: got shape {tuple(got.shape)}, expected ({t.shape[0]}, {dim})"
        if got.shape != ref.shape:
            return f"wrong shape: got {tuple(got.shape)}, expected ({t.shape[0]}, {dim})"
        got = got.double()
        if not bool(torch.isfinite(got).all()):
            return "your embedding contains NaN or inf"
        unmatched = [
            k
            for k in range(dim)
            if not any(torch.allclose(got[:, j], ref[:, k], 1e-3, 2e-3) for j in range(dim))
        ]
        if not unmatched:
            return None
        if all(torch.allclose(got[:, j], got[:, 0]) for j in range(dim)) or torch.allclose(
            got[0], got[-1]
        ):
            return "your embedding does not change with t"
        slow = (t.double()[:, None] * freqs[None] * 2 * math.pi).sin()
        if any(torch.allclose(got[:, j], slow[:, 1], 1e-3, 2e-3) for j in range(dim)):
            return "off by a factor 2 pi in the frequencies: use sin(w_k t) with w_k from 1 to max_freq"
        return f"{len(unmatched)} of the {dim} expected columns (sin(w_k t), cos(w_k t)) are missing; check the frequencies w_k"

    def cases(g):
        out = []
        for dim, max_freq in (
            (8, 100.0),
            (16, 1000.0),
            (int(2 * torch.randint(2, 9, (), generator=g)), 50.0),
        ):
            t = torch.rand(
                int(2 * torch.randint(2, 6, (), generator=g) + 1), generator=g
            )  # odd B != dim
            out.append(Case(f"dim = {dim}", (t, dim, max_freq), judge))
        return out

    return run_check("time_embedding", time_embedding, cases, seed, quiet)


def check_vector_field(model: object, seed: int | None = None, quiet: bool = False) -> CheckResult:
    """A network ``model(x, t) -> (B, 2)`` with t a float or a (B,) tensor. Exercise 6.2.1.

    ``model`` is a module or a module class (built here with no arguments).
    """

    net = model

    def judge(out: object, x: Tensor, t: Tensor) -> str | None:
        got = as_tensor(out)
        if got is None or got.shape != x.shape:
            return f"v(x, t) must have the shape of x, {tuple(x.shape)}; got {getattr(got, 'shape', out)}"
        if not bool(torch.isfinite(got).all()):
            return "v(x, t) contains NaN or inf"
        with torch.no_grad():
            one = net(x[:1], float(t[0]))
            if not torch.allclose(as_tensor(one)[0].double(), got[0].double(), 1e-4, 1e-5):
                return "v(x, t) with a float t disagrees with v(x, t) with a (B,) tensor t"
            if torch.allclose(
                net(x, t * 0 + 0.1).double(), net(x, t * 0 + 0.9).double(), 1e-6, 1e-7
            ):
                return "v(x, t) does not depend on t: feed the time embedding to the network"
            if torch.allclose(net(x, t).double(), net(x + 1.0, t).double(), 1e-6, 1e-7):
                return "v(x, t) does not depend on x"
        if not any(p.requires_grad for p in getattr(net, "parameters", lambda: [])()):
            return "the model has no trainable parameters: make it a torch.nn.Module with layers"
        return None

    def forward(x: Tensor, t: Tensor) -> object:
        nonlocal net
        if isinstance(net, type):  # a class: build one (its __init__ may be unsolved yet)
            net = net()
        with torch.no_grad():
            return net(x, t)

    def cases(g):
        b = int(torch.randint(4, 10, (), generator=g))
        x, t = torch.randn(b, 2, generator=g), torch.rand(b, generator=g)
        return [Case(f"B = {b}", (x, t), judge)]

    return run_check(
        "vector field network", forward, cases, seed, quiet, "Input (B, 2) and t, output (B, 2)."
    )


def _linear_model(g: torch.Generator) -> Callable:
    a = torch.randn(2, 2, generator=g)
    c = torch.randn(2, generator=g)
    return lambda x, t: x @ a.T + torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1) * c


def _reference_cfm_loss(v: Callable, x_0: Tensor, x_1: Tensor, t: Tensor) -> Tensor:
    x_t = (1 - t[:, None]) * x_0 + t[:, None] * x_1
    return (v(x_t, t) - (x_1 - x_0)).pow(2).sum(1).mean()


def check_cfm_loss(cfm_loss: Callable, seed: int | None = None, quiet: bool = False) -> CheckResult:
    """``cfm_loss(model, x_0, x_1, t) -> scalar``: mean_b |v(x_t, t) - (x_1 - x_0)|^2. Exercise 6.2.2.

    The mean over coordinates too (the same loss divided by D) is accepted.
    """

    def loss(v, x_0, x_1, t):
        # accept the per-coordinate mean: an answer of exactly half the reference counts double
        return _per_coordinate_mean_accepted(
            cfm_loss(v, x_0, x_1, t), _reference_cfm_loss(v, x_0, x_1, t)
        )

    def cases(g):
        out = []
        for _ in range(3):
            b = int(torch.randint(5, 30, (), generator=g))
            v = _linear_model(g)
            x_0, x_1, t = (
                torch.randn(b, 2, generator=g),
                torch.randn(b, 2, generator=g) + 2,
                torch.rand(b, generator=g),
            )
            out.append(Case(f"B = {b}", (v, x_0, x_1, t), _reference_cfm_loss(v, x_0, x_1, t)))
        return out

    def hints(out, case):
        got = as_tensor(out)
        if got is not None and got.numel() > 1:
            return (
                f"the loss must be one number; got shape {tuple(got.shape)}: average over the batch"
            )
        return None

    return run_check("cfm_loss", loss, cases, seed, quiet, hints=hints)


def _per_coordinate_mean_accepted(out: object, ref: Tensor) -> object:
    got = as_tensor(out)
    if got is not None and got.numel() == 1:
        got = got.reshape(())
        if math.isclose(float(got), float(ref) / 2, rel_tol=1e-4):  # mean over D = 2 too
            return got * 2
        return got
    return out


def check_training_loop(
    train: Callable, seed: int | None = None, quiet: bool = False, steps: int = 600
) -> CheckResult:
    """``train(model, x_data, steps, generator)`` trains ``model`` in place. Exercise 6.2.2.

    A fresh ``fmlib.VectorFieldMLP`` is trained for ``steps`` steps on 4000 two-moons points;
    it passes when its CFM loss, measured independently on fresh pairs, has dropped well below
    the untrained loss and its Euler samples are near the moons (W2 below 0.35).
    """
    from ..models import VectorFieldMLP
    from ..paths import linear_path
    from ..training import cfm_loss

    def measure(model, g) -> tuple[float, float]:
        x_1 = data.two_moons(4000, generator=g)
        x_0 = torch.randn(4000, 2, generator=g)
        t = torch.rand(4000, generator=g)
        with torch.no_grad():
            loss = float(cfm_loss(model, linear_path(), x_0, x_1, t))
            x = solvers.solve(model, torch.randn(1000, 2, generator=g), steps=50).x
        return loss, ot.w2(x, data.two_moons(1000, generator=g))

    def judge(out, model, x_data, steps, generator, before):
        after, w2 = measure(model, torch.Generator().manual_seed(1))
        if not math.isfinite(after):
            return "the trained model gives NaN: is the learning rate too large?"
        if after > 0.9 * before:
            return f"the CFM loss did not drop ({before:.3f} before, {after:.3f} after): do you call optimizer.step() on the model's parameters?"
        if w2 > 0.35:
            return f"the loss dropped ({before:.3f} -> {after:.3f}) but Euler samples are far from the moons (W2 = {w2:.3f}): check x_t and the target x_1 - x_0"
        return None

    def cases(g):
        torch.manual_seed(int(torch.randint(0, 2**31, (), generator=g)))
        model = VectorFieldMLP()
        x_data = data.two_moons(4000, generator=g)
        before, _ = measure(model, torch.Generator().manual_seed(1))
        generator = torch.Generator().manual_seed(int(torch.randint(0, 2**31, (), generator=g)))
        return [Case(f"{steps} steps", (model, x_data, steps, generator, before), judge)]

    return run_check(
        "training loop",
        lambda model, x_data, steps, generator, before: train(model, x_data, steps, generator),
        cases,
        seed,
        quiet,
        "The loss dropped and samples reach the moons.",
    )


def check_euler_sample(
    euler_sample: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``euler_sample(v, x_0, steps) -> x_1``: Euler from t = 0 to 1 in equal steps. Exercise 6.2.3."""

    def cases(g):
        out = []
        for _ in range(2):
            b, d = random_batch(g)
            n = int(torch.randint(3, 12, (), generator=g))
            x_0 = torch.randn(b, d, generator=g, dtype=torch.float64)
            a = torch.randn(d, d, generator=g, dtype=torch.float64)
            # v = A x: n Euler steps multiply by (I + A / n)^n
            step = torch.linalg.matrix_power(torch.eye(d, dtype=torch.float64) + a / n, n)
            out.append(Case(f"v = A x, {n} steps", (matrix_field(a), x_0, n), x_0 @ step.T))
            # v = t c: Euler sums t_k / n at the left ends t_k = k / n, giving c (n - 1) / (2 n)
            c = torch.randn(d, generator=g, dtype=torch.float64)
            ref = x_0 + c * (n - 1) / (2 * n)
            out.append(Case(f"v = t c, {n} steps", (_time_field(c), x_0, n), ref))
        return out

    def hints(out, case):
        v, x_0, n = case.inputs
        got = as_tensor(out)
        if got is None or got.shape != x_0.shape:
            return None
        if torch.allclose(got.double(), x_0):
            return "you return x_0 unchanged: did the loop run?"
        x = x_0
        for k in range(n):  # Euler with the slope at the end of each step
            x = x + v(x, (k + 1) / n) / n
        if not torch.allclose(x, case.expected) and torch.allclose(got.double(), x):
            return "you evaluate v at the end of each step (t + dt); Euler uses the start, t"
        return None

    return run_check("euler_sample", euler_sample, cases, seed, quiet, hints=hints)


def _time_field(c: Tensor) -> Callable:
    """v(x, t) = t c, for every row of x."""
    return lambda x, t: torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1) * c + 0 * x


def check_curved_velocity(
    curved_velocity: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``curved_velocity(x_0, x_1, t, a) -> u_t``, the t-derivative of the curved path. Exercise 6.2.4.

    x_t = (1 - t) x_0 + t x_1 + a t (1 - t) n_perp, n_perp = (x_1 - x_0) rotated by +90 degrees
    and normalised; the reference is autograd's d x_t / d t, not a formula for u_t.
    """

    def x_t(x_0, x_1, t, bend):
        d = x_1 - x_0
        n_perp = torch.stack([-d[:, 1], d[:, 0]], dim=1) / d.norm(dim=1, keepdim=True)
        return (1 - t)[:, None] * x_0 + t[:, None] * x_1 + bend * (t * (1 - t))[:, None] * n_perp

    def cases(g):
        out = []
        for bend in (0.0, float(0.5 + torch.rand((), generator=g)), -1.0):
            b = int(torch.randint(4, 10, (), generator=g))
            x_0, x_1 = (torch.randn(b, 2, generator=g, dtype=torch.float64) for _ in range(2))
            t = torch.rand(b, generator=g, dtype=torch.float64)
            _, ref = torch.func.jvp(partial(x_t, x_0, x_1, bend=bend), (t,), (torch.ones_like(t),))
            out.append(Case(f"a = {bend:.2f}", (x_0, x_1, t, bend), ref))
        return out

    def hints(out, case):
        x_0, x_1, t, bend = case.inputs
        got = as_tensor(out)
        if got is None or got.shape != x_0.shape:
            return None
        d = x_1 - x_0
        n_perp = torch.stack([-d[:, 1], d[:, 0]], dim=1) / d.norm(dim=1, keepdim=True)
        if bend and torch.allclose(got.double(), d - bend * (1 - 2 * t)[:, None] * n_perp):
            return "your perpendicular points the other way: rotate x_1 - x_0 by +90 degrees, (-d_2, d_1)"
        if bend and torch.allclose(
            got.double(), d + bend * (1 - 2 * t)[:, None] * torch.stack([-d[:, 1], d[:, 0]], dim=1)
        ):
            return "normalise the perpendicular vector (divide by |x_1 - x_0|)"
        if bend and torch.allclose(got.double(), d + bend * (t * (1 - t))[:, None] * n_perp):
            return "differentiate t (1 - t): its derivative is 1 - 2 t"
        return None

    return run_check("curved_velocity", curved_velocity, cases, seed, quiet, hints=hints)
