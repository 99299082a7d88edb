"""Optimal-transport measurements. Section 6.2.

W2 between two sample sets (exact, via POT's network simplex), the OT plan, and the dynamic view
of Section 6.2.2: the kinetic energy int_0^1 E||v_t||^2 dt of trajectories (Benamou-Brenier) and
how straight they are. Because W2 between two finite samples of the *same* law is not zero,
every W2 is read against the noise floor: the W2 between two fresh samples of the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import ot as pot
import torch
from torch import Tensor

from ._checks import check_points, check_positive_int

__all__ = [
    "w2",
    "ot_plan",
    "w2_median",
    "w2_noise_floor",
    "W2Report",
    "w2_report",
    "kinetic_energy",
    "straightness",
]


def _cost(x: Tensor, y: Tensor) -> np.ndarray:
    check_points(x, "x")
    check_points(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension D; got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError(
            f"x and y must each hold at least one point; got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    a, b = x.detach().cpu().double().numpy(), y.detach().cpu().double().numpy()
    return pot.dist(a, b, metric="sqeuclidean")


def ot_plan(x: Tensor, y: Tensor) -> np.ndarray:
    """The optimal plan pi: (n, m) between uniform weights on x: (n, D) and y: (m, D). Section 6.2.1."""
    cost = _cost(x, y)  # checks x and y before their shapes are used
    return pot.emd(
        np.full(x.shape[0], 1 / x.shape[0]),
        np.full(y.shape[0], 1 / y.shape[0]),
        cost,
        numItermax=10**7,
    )


def w2(x: Tensor, y: Tensor) -> float:
    """W_2 between the empirical laws of x: (n, D) and y: (m, D), exact. Section 6.2.1, W_p with p = 2."""
    cost = _cost(x, y)
    value = pot.emd2(
        np.full(x.shape[0], 1 / x.shape[0]),
        np.full(y.shape[0], 1 / y.shape[0]),
        cost,
        numItermax=10**7,
    )
    return float(np.sqrt(max(value, 0.0)))


Sampler = Callable[[int, torch.Generator], Tensor]


def w2_median(
    generate: Sampler, target: Sampler, n: int = 2000, draws: int = 5, seed: int = 0
) -> float:
    """Median over ``draws`` of W2(generate(n), target(n)), each draw with fresh seeds."""
    check_positive_int(n, "n")
    check_positive_int(draws, "draws")
    values = []
    for k in range(draws):
        g_a = torch.Generator().manual_seed(seed + 2 * k)
        g_b = torch.Generator().manual_seed(seed + 2 * k + 1 + 10_000)
        values.append(w2(generate(n, g_a), target(n, g_b)))
    return float(np.median(values))


def w2_noise_floor(
    target: Sampler,
    n: int = 2000,
    draws: int = 5,
    seed: int = 12_345,
    reference: Sampler | None = None,
) -> float:
    """Median W2 between two fresh samples of the target: what a perfect model scores at this n.

    Pass ``reference`` (an i.i.d. sampler of the same law) when ``target`` is not i.i.d.:
    scikit-learn's ``make_moons`` spaces its points evenly along the moons, so two of its samples
    are closer to each other than any i.i.d. sampler, a perfect model included, can come. The
    floor is then W2(reference sample, target sample).
    """
    return w2_median(
        reference if reference is not None else target, target, n=n, draws=draws, seed=seed
    )


class W2Report(NamedTuple):
    w2: float
    floor: float

    @property
    def ratio(self) -> float:
        return self.w2 / self.floor

    def __str__(self) -> str:
        return f"W2 = {self.w2:.4f}  ({self.ratio:.2f} x the noise floor {self.floor:.4f})"


def w2_report(
    generate: Sampler, target: Sampler, n: int = 2000, draws: int = 5, floor: float | None = None
) -> W2Report:
    """W2 of generated samples against the target, with the noise floor beside it."""
    floor = w2_noise_floor(target, n, draws) if floor is None else floor
    return W2Report(w2_median(generate, target, n, draws), floor)


def _check_trajectory(xs: Tensor, ts: Tensor) -> None:
    if not isinstance(xs, Tensor) or xs.ndim != 3:
        raise ValueError(
            f"xs must be a trajectory tensor of shape (K, B, D); got {getattr(xs, 'shape', xs)}"
        )
    if not isinstance(ts, Tensor) or ts.shape != xs.shape[:1]:
        raise ValueError(
            f"ts must have shape (K,) = ({xs.shape[0]},); got {getattr(ts, 'shape', ts)}"
        )


def kinetic_energy(xs: Tensor, ts: Tensor) -> float:
    """int_0^1 E||dx/dt||^2 dt from a trajectory xs: (K, B, D) at times ts: (K,). Section 6.2.2.

    Finite differences between saved states, so it is exact for piecewise-straight (Euler)
    trajectories and a lower bound otherwise. For the optimal flow it equals W2^2(p_0, p_1).
    """
    _check_trajectory(xs, ts)
    dx = xs[1:] - xs[:-1]  # (K-1, B, D)
    dt = (ts[1:] - ts[:-1]).abs()
    return float((dx.pow(2).sum(dim=2).mean(dim=1) / dt).sum())


def straightness(xs: Tensor) -> float:
    """Mean over particles of |x_end - x_start| / (length of the path): 1 for straight lines. Section 6.5.1."""
    if not isinstance(xs, Tensor) or xs.ndim != 3:
        raise ValueError(
            f"xs must be a trajectory tensor of shape (K, B, D); got {getattr(xs, 'shape', xs)}"
        )
    chord = (xs[-1] - xs[0]).norm(dim=1)
    length = (xs[1:] - xs[:-1]).norm(dim=2).sum(dim=0).clamp_min(1e-12)
    return float((chord / length).mean())
