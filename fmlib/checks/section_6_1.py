"""Checks for the exercises of Section 6.1: the divergence, exact and by Hutchinson's estimator."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._core import (
    Case,
    CheckResult,
    jacobians,
    linear_field,
    nonlinear_field,
    random_batch,
    run_check,
)


def _field_cases(g: torch.Generator, probes: bool) -> list[Case]:
    """A linear and a tanh field at three random (B, D, t); with ``probes``, one eps: (B, D) each.

    The reference is tr(dv/dx), or eps^T (dv/dx) eps with probes; dv/dx is (1 + t) A in closed
    form for the linear field and autograd's for the tanh field.
    """
    out = []
    for _ in range(3):
        b, d = random_batch(g)
        t = float(torch.rand((), generator=g))
        x = torch.randn(b, d, generator=g, dtype=torch.float64)
        eps = torch.randn(b, d, generator=g, dtype=torch.float64) if probes else None
        v, a = linear_field(g, d)
        w = nonlinear_field(g, d)
        for name, field, jacobian in (
            ("linear field", v, ((1 + t) * a).expand(b, d, d)),
            ("tanh field", w, jacobians(w, x, t)),
        ):
            if probes:
                ref = torch.einsum("bi,bij,bj->b", eps, jacobian, eps)
                out.append(Case(f"{name}, D = {d}", (field, x, t, eps), ref))
            else:
                ref = torch.diagonal(jacobian, dim1=1, dim2=2).sum(1)
                out.append(Case(f"{name}, D = {d}", (field, x, t), ref))
    return out


def check_divergence(
    divergence: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``divergence(v, x, t) -> (B,)``, the exact div v by autograd. Section 6.1.2."""
    return run_check(
        "divergence",
        divergence,
        lambda g: _field_cases(g, probes=False),
        seed,
        quiet,
        "It costs D backward passes.",
    )


def check_hutchinson(
    hutchinson: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``hutchinson(v, x, t, eps) -> (B,)``: eps^T (dv/dx) eps for given probes eps: (B, D). Section 6.1.2."""
    return run_check(
        "hutchinson",
        hutchinson,
        lambda g: _field_cases(g, probes=True),
        seed,
        quiet,
        "One backward pass, whatever D.",
    )
