"""Couplings q(x_0, x_1): which noise point is paired with which data point. Sections 6.2.3, 6.5.1.

The independent coupling keeps the pairs as drawn. Minibatch OT re-orders x_0 so that the pairs
solve the discrete optimal-transport problem with cost ||x_0 - x_1||^2 inside the batch (OT-CFM):
exactly (an assignment, for equal-size batches) or entropically (Sinkhorn, via POT).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import ot as pot
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from ._validate import check_generator, check_points, check_positive_int, check_same_shape

__all__ = ["CoupledBatch", "independent", "ot_pairing", "COUPLINGS"]


class CoupledBatch(NamedTuple):
    """Paired points x_0, x_1: (B, D) and the labels of x_1 (B,) or None."""

    x_0: Tensor
    x_1: Tensor
    y_1: Tensor | None


def independent(x_0: Tensor, x_1: Tensor, y_1: Tensor | None = None, **_: object) -> CoupledBatch:
    """q(x_0, x_1) = p_0(x_0) p_1(x_1): keep the pairs as drawn. Section 6.3.1."""
    check_points(x_0, "x_0")
    check_points(x_1, "x_1")
    check_same_shape(x_0, x_1)
    return CoupledBatch(x_0, x_1, y_1)


def _assignment(x_0: Tensor, x_1: Tensor) -> Tensor:
    """Index i(j) of the x_0 paired with x_1[j] by the exact OT assignment (squared cost)."""
    cost = torch.cdist(x_1.detach().double(), x_0.detach().double()).pow(2).cpu().numpy()
    rows, cols = linear_sum_assignment(cost)  # rows == arange(n) for a square problem
    return torch.from_numpy(cols[np.argsort(rows)]).to(x_0.device)


def ot_pairing(
    x_0: Tensor,
    x_1: Tensor,
    y_1: Tensor | None = None,
    method: str = "exact",
    reg: float = 0.05,
    block_size: int | None = None,
    generator: torch.Generator | None = None,
) -> CoupledBatch:
    """Minibatch OT coupling: pair x_0 with x_1 to minimise the mean ||x_0 - x_1||^2. Section 6.2.3.

    ``method="exact"`` solves the assignment problem (for uniform weights on equal-size batches
    the OT plan is a permutation, so this is exact OT). ``block_size`` solves it on consecutive
    blocks of that many pairs instead (an OT coupling on smaller minibatches, much cheaper: the
    assignment grows roughly cubically). ``method="sinkhorn"`` computes POT's entropic plan with
    regularisation ``reg`` (relative to the mean cost) and draws one x_0 for each x_1 from it.
    x_1 and its labels keep their order; only x_0 is re-ordered.
    """
    check_points(x_0, "x_0")
    check_points(x_1, "x_1")
    check_same_shape(x_0, x_1)
    check_generator(generator)
    if y_1 is not None and (not isinstance(y_1, Tensor) or y_1.shape != x_1.shape[:1]):
        raise ValueError(
            f"y_1 must be a (B,) tensor matching x_1: (B, D); got {getattr(y_1, 'shape', y_1)}"
        )
    n = x_0.shape[0]
    if block_size is not None:
        check_positive_int(block_size, "block_size")
    if method == "exact":
        if block_size is None or block_size >= n:
            return CoupledBatch(x_0[_assignment(x_0, x_1)], x_1, y_1)
        if block_size < 1:
            raise ValueError(f"block_size must be a positive integer or None; got {block_size!r}")
        parts = [
            x_0[s : s + block_size][_assignment(x_0[s : s + block_size], x_1[s : s + block_size])]
            for s in range(0, n, block_size)
        ]
        return CoupledBatch(torch.cat(parts), x_1, y_1)
    if method == "sinkhorn":
        if not reg > 0:
            raise ValueError(f"reg must be positive for the Sinkhorn coupling; got {reg!r}")
        cost = torch.cdist(x_1.detach().double(), x_0.detach().double()).pow(2).cpu().numpy()
        w = np.full(n, 1.0 / n)
        scale = cost.mean() if cost.mean() > 0 else 1.0  # all points equal: every pairing costs 0
        plan = pot.sinkhorn(w, w, cost / scale, reg)
        rows = torch.from_numpy(plan / plan.sum(axis=1, keepdims=True))
        idx = torch.multinomial(rows, 1, generator=generator)[:, 0].to(x_0.device)
        return CoupledBatch(x_0[idx], x_1, y_1)
    raise ValueError(f"method must be 'exact' or 'sinkhorn'; got {method!r}")


COUPLINGS = {"independent": independent, "ot": ot_pairing}
