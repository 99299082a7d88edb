"""Divergence and exact log-likelihood of a flow. Sections 6.1.1 and 6.1.2.

log p_1(x_1) = log p_0(x_0) - int_0^1 div v_t(x_t) dt: integrate the augmented state
(x_t, a_t) with da/dt = div v backwards from t = 1 (a = 0) to t = 0, where x_0 is reached and
log p_1(x_1) = log p_0(x_0) + a_0. The divergence is exact (one backward pass per dimension) or
Hutchinson's estimate E[eps^T (dv/dx) eps] (one backward pass per probe).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from ._validate import as_time, check_generator, check_points, check_positive_int
from .data import StandardGaussian
from .solvers import solve

__all__ = [
    "divergence_exact",
    "divergence_hutchinson",
    "hutchinson_running_mean",
    "augmented_field",
    "FlowDensity",
    "log_density_along_flow",
    "log_prob",
    "FlowBlowUpError",
]

Field = Callable[[Tensor, object], Tensor]


def _with_grad(x: Tensor) -> Tensor:
    return x if x.requires_grad else x.detach().requires_grad_(True)


def _evaluate(v: Field, x: Tensor, t: object) -> Tensor:
    """v(x, t), with clear errors for a bad t or a field that does not return a (B, D) tensor like x."""
    as_time(t, x.shape[0], x)  # checked here too: a plain lambda field would not reject t = 1.5
    out = v(x, t)
    if not isinstance(out, Tensor) or out.shape != x.shape:
        raise ValueError(
            f"the vector field v(x, t) must return a tensor shaped like x {tuple(x.shape)}; "
            f"got {getattr(out, 'shape', type(out).__name__)}"
        )
    return out


def _grad(out: Tensor, x: Tensor, create_graph: bool) -> Tensor:
    """d out / dx, or zeros where out does not depend on x (a constant field has divergence 0)."""
    if not out.requires_grad:
        return torch.zeros_like(x)
    (g,) = torch.autograd.grad(
        out, x, create_graph=create_graph, retain_graph=True, allow_unused=True
    )
    return torch.zeros_like(x) if g is None else g


def _exact(out: Tensor, x: Tensor, create_graph: bool) -> Tensor:
    """sum_i d out_i / d x_i, one backward pass per dimension: (B,)."""
    div = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for i in range(x.shape[1]):
        div = div + _grad(out[:, i].sum(), x, create_graph)[:, i]
    return div


def _hutchinson(
    out: Tensor, x: Tensor, k: int, probe: str, generator, create_graph: bool
) -> Tensor:
    """k single-probe estimates eps^T (d out / dx) eps, one backward pass each: (k, B)."""
    samples = []
    for _ in range(k):
        eps = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        if probe == "rademacher":
            eps = eps.sign()
        eps = eps.to(x.device)
        samples.append((_grad((out * eps).sum(), x, create_graph) * eps).sum(dim=1))
    return torch.stack(samples)


def _check_probe(k: int, probe: str, generator: object) -> None:
    check_positive_int(k, "k")
    check_generator(generator)
    if probe not in ("gaussian", "rademacher"):
        raise ValueError(f"probe must be 'gaussian' or 'rademacher'; got {probe!r}")


def divergence_exact(v: Field, x: Tensor, t: object, create_graph: bool = False) -> Tensor:
    """div v(x, t) = sum_i dv_i/dx_i: (B,), with D backward passes. Section 6.1.2 (exact, O(d))."""
    check_points(x, "x")
    with torch.enable_grad():
        x = _with_grad(x)
        return _exact(_evaluate(v, x, t), x, create_graph)


def divergence_hutchinson(
    v: Field,
    x: Tensor,
    t: object,
    k: int = 1,
    probe: str = "gaussian",
    generator: torch.Generator | None = None,
    create_graph: bool = False,
    return_samples: bool = False,
) -> Tensor:
    """Hutchinson's estimate of div v: mean over k probes of eps^T J eps, (B,). Section 6.1.2.

    Probes are N(0, I) (``"gaussian"``) or uniform on {-1, +1}^D (``"rademacher"``); both have
    E[eps eps^T] = I, so the estimate is unbiased. With ``return_samples`` the (k, B) individual
    estimates come back instead of their mean.
    """
    check_points(x, "x")
    _check_probe(k, probe, generator)
    with torch.enable_grad():
        x = _with_grad(x)
        samples = _hutchinson(_evaluate(v, x, t), x, k, probe, generator, create_graph)
    return samples if return_samples else samples.mean(dim=0)


def augmented_field(
    v: Field,
    divergence: str = "exact",
    create_graph: bool = False,
    k: int = 1,
    probe: str = "gaussian",
    generator: torch.Generator | None = None,
) -> Field:
    """The field of z = (x, a): dz/dt = (v(x, t), div v(x, t)), for z: (B, D + 1). Section 6.1.2.

    ``divergence="hutchinson"`` uses the mean of ``k`` fresh probes at every evaluation.
    """
    if divergence not in ("exact", "hutchinson"):
        raise ValueError(f"divergence must be 'exact' or 'hutchinson'; got {divergence!r}")
    _check_probe(k, probe, generator)

    def field(z: Tensor, t: object) -> Tensor:
        with torch.enable_grad():
            x = _with_grad(z[:, :-1]) if not z.requires_grad else z[:, :-1]
            out = _evaluate(v, x, t)
            if divergence == "exact":
                div = _exact(out, x, create_graph)
            else:
                div = _hutchinson(out, x, k, probe, generator, create_graph).mean(dim=0)
        if not create_graph:
            out, div = out.detach(), div.detach()
        return torch.cat([out, div[:, None]], dim=1)

    return field


class FlowDensity(NamedTuple):
    """Points carried by a flow and their log-density: xs (K, B, D) and log_p (K, B) at ts (K,)."""

    ts: Tensor
    xs: Tensor
    log_p: Tensor
    nfe: int


def log_density_along_flow(
    v: Field,
    x: Tensor,
    log_p: Callable[[Tensor], Tensor],
    *,
    t0: float = 0.0,
    t1: float = 1.0,
    known_at: str = "start",
    method: str = "rk4",
    steps: int = 50,
    divergence: str = "exact",
    k: int = 1,
    probe: str = "gaussian",
    generator: torch.Generator | None = None,
    create_graph: bool = False,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    return_trajectory: bool = True,
) -> FlowDensity:
    """Carry x: (B, D) from t0 to t1 (either direction) along v, with log p_t(x_t). Section 6.1.1.

    The one place that applies the instantaneous change of variables,
    log p_t(x_t) = log p_t0(x_t0) - int_t0^t div v(x_s, s) ds: the augmented state
    (x_t, int_t0^t div v) is solved together (``augmented_field``). ``log_p(x) -> (B,)`` is the
    density known at the start (``known_at="start"``, the density of x at t0: a flow forwards
    from the source) or at the end (``"end"``, the density at t1 of where x arrives: ``log_prob``,
    from data at t = 1 back to the source at t = 0). Without ``return_trajectory`` only the two
    end points are kept (K = 2).
    """
    check_points(x, "x")
    if known_at not in ("start", "end"):
        raise ValueError(f"known_at must be 'start' or 'end'; got {known_at!r}")
    if not callable(log_p):
        raise TypeError(f"log_p must be a log-density log_p(x) -> (B,); got {type(log_p).__name__}")
    field = augmented_field(
        v, divergence, create_graph=create_graph, k=k, probe=probe, generator=generator
    )
    z = torch.cat([x, torch.zeros_like(x[:, :1])], dim=1)
    sol = _solve_or_explain(
        field,
        z,
        t0=t0,
        t1=t1,
        method=method,
        steps=steps,
        rtol=rtol,
        atol=atol,
        return_trajectory=return_trajectory,
    )
    zs = sol.xs if return_trajectory else torch.stack([z, sol.x])
    xs, integral = zs[..., :-1], zs[..., -1]  # (K, B, D) and int_t0^t div v: (K, B)
    at_t0 = log_p(xs[0]) if known_at == "start" else log_p(xs[-1]) + integral[-1]
    return FlowDensity(sol.ts, xs, at_t0[None] - integral, sol.nfe)


def log_prob(
    v: Field,
    x_1: Tensor,
    source: StandardGaussian | None = None,
    method: str = "dopri5",
    steps: int = 100,
    divergence: str = "exact",
    create_graph: bool = False,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """log p_1(x_1) under the flow of v: (B,). Section 6.1.1, the instantaneous change of variables.

    Solves the augmented ODE from t = 1 back to t = 0 (``log_density_along_flow``), where the
    source density is known. ``create_graph=True`` keeps the graph for maximum-likelihood
    training (Section 6.1.2); then use a fixed-step method.
    """
    check_points(x_1, "x_1")
    source = source if source is not None else StandardGaussian(x_1.shape[1])
    flow = log_density_along_flow(
        v,
        x_1,
        source.log_prob,
        t0=1.0,
        t1=0.0,
        known_at="end",
        method=method,
        steps=steps,
        divergence=divergence,
        generator=generator,
        create_graph=create_graph,
        rtol=rtol,
        atol=atol,
        return_trajectory=False,
    )
    return flow.log_p[0]


def hutchinson_running_mean(
    v: Field,
    x: Tensor,
    t: object,
    k_max: int,
    probe: str = "gaussian",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Hutchinson's estimate of div v(x, t) with k = 1 ... k_max probes: (k_max, B). Section 6.1.2.

    Row k - 1 is the mean of the first k single-probe estimates (the same probes for every k),
    so one pass shows how the estimate settles as probes are added.
    """
    samples = divergence_hutchinson(
        v, x, t, k=k_max, probe=probe, generator=generator, return_samples=True
    ).detach()
    counts = torch.arange(1, k_max + 1, dtype=samples.dtype, device=samples.device)
    return samples.cumsum(0) / counts[:, None]


class FlowBlowUpError(ValueError):
    """The flow left every bounded set before the end time: no density there. Section 6.1.1."""


def _solve_or_explain(field: Field, z: Tensor, *, t0: float, t1: float, **options) -> object:
    """``solve`` of the augmented state z, with an error that names the cause if the flow blows up.

    A field that grows faster than linearly (only locally Lipschitz, like ``fields.source_sink``)
    has a flow that can reach infinity in finite time. Then the time-1 map is not onto R^d: a point
    outside its image has no x_0, and the change of variables gives it no density (p = 0 there).
    Fixed-step solvers return inf or NaN for such points, dopri5 fails with "underflow in dt".
    """
    try:
        sol = solve(field, z, t0=t0, t1=t1, **options)
    except AssertionError as err:  # torchdiffeq's step-size control gave up
        if "underflow in dt" not in str(err):
            raise
        which = "some of the points"
    else:
        finite = torch.isfinite(sol.x).all(dim=1)
        if bool(finite.all()):
            return sol
        first = z[~finite][0, :-1].tolist()
        which = (
            f"{int((~finite).sum())} of {len(z)} points, the first at x = "
            f"({', '.join(f'{c:.3g}' for c in first)})"
        )
    raise FlowBlowUpError(
        f"the flow from t = {t0:g} to t = {t1:g} went to infinity for {which}. A field that "
        "grows faster than linearly (only locally Lipschitz, like source_sink) does this: its "
        "flow leaves every bounded set in finite time. Such points lie outside the image of the flow map (the flow "
        "is not onto R^d), so the change of variables gives them no density (p = 0 there). "
        "Evaluate only inside the image, or use a globally Lipschitz field (in training, a "
        "learning rate that is too high can do the same)."
    )
