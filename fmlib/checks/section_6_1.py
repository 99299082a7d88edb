"""Checks for the exercises of Section 6.1: the divergence, exact and by Hutchinson's estimator."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._core import Case, CheckResult, jacobians, linear_field, nonlinear_field, random_batch, run_check


def check_divergence(
    divergence: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``divergence(v, x, t) -> (B,)``, the exact div v by autograd. Section 6.1.2."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = random_batch(g)
            t = float(torch.rand((), generator=g))
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            v, a = linear_field(g, d)
            ref = (1 + t) * torch.trace(a) * torch.ones(b, dtype=torch.float64)
            out.append(Case(f"linear field, D = {d}", (v, x, t), ref))
            w = nonlinear_field(g, d)
            ref = torch.diagonal(jacobians(w, x, t), dim1=1, dim2=2).sum(1)
            out.append(Case(f"tanh field, D = {d}", (w, x, t), ref))
        return out

    return run_check("divergence", divergence, cases, seed, quiet, "It costs D backward passes.")


def check_hutchinson(
    hutchinson: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``hutchinson(v, x, t, eps) -> (B,)``: eps^T (dv/dx) eps for given probes eps: (B, D). Section 6.1.2."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = random_batch(g)
            t = float(torch.rand((), generator=g))
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            eps = torch.randn(b, d, generator=g, dtype=torch.float64)
            v, a = linear_field(g, d)
            ref = (1 + t) * torch.einsum("bi,ij,bj->b", eps, a, eps)
            out.append(Case(f"linear field, D = {d}", (v, x, t, eps), ref))
            w = nonlinear_field(g, d)
            ref = torch.einsum("bi,bij,bj->b", eps, jacobians(w, x, t), eps)
            out.append(Case(f"tanh field, D = {d}", (w, x, t, eps), ref))
        return out

    return run_check("hutchinson", hutchinson, cases, seed, quiet, "One backward pass, whatever D.")
