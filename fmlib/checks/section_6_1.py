"""Checks for the exercises of Section 6.1: the divergence, exact and by Hutchinson's estimator."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._core import CheckResult, _batch, _jacobians, _linear_field, _nonlinear_field, run_check


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
