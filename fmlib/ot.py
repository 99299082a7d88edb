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

from . import runtime
from ._validate import check_points, check_positive_int

__all__ = [
    "w2",
    "ot_plan",
    "w2_draws",
    "w2_median",
    "FLOOR_SEED",
    "w2_noise_floor",
    "W2Report",
    "w2_report",
    "kinetic_energy",
    "straightness",
    "conditional_energy",
    "crossing_fraction",
    "time_in_region",
    "share_in_region",
    "flow_metrics",
    "frechet_gaussians",
    "frechet_distance",
    "nearest_distance",
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
    runtime.tick()
    value = pot.emd2(
        np.full(x.shape[0], 1 / x.shape[0]),
        np.full(y.shape[0], 1 / y.shape[0]),
        cost,
        numItermax=10**7,
    )
    return float(np.sqrt(max(value, 0.0)))


Sampler = Callable[[int, torch.Generator], Tensor]


def w2_draws(
    generate: Sampler, target: Sampler, n: int = 2000, draws: int = 5, seed: int = 0
) -> list[float]:
    """W2(generate(n), target(n)) for ``draws`` independent draws, each with fresh seeds.

    Draw k seeds ``generate`` with ``seed + 2k`` and ``target`` with ``seed + 2k + 10_001``, so the
    two samples never share a seed.
    """
    check_positive_int(n, "n")
    check_positive_int(draws, "draws")
    values = []
    for k in range(draws):
        g_a = torch.Generator().manual_seed(seed + 2 * k)
        g_b = torch.Generator().manual_seed(seed + 2 * k + 1 + 10_000)
        values.append(w2(generate(n, g_a), target(n, g_b)))
    return values


def w2_median(
    generate: Sampler, target: Sampler, n: int = 2000, draws: int = 5, seed: int = 0
) -> float:
    """Median over ``draws`` of W2(generate(n), target(n)) (see ``w2_draws``)."""
    return float(np.median(w2_draws(generate, target, n=n, draws=draws, seed=seed)))


# the seed of every noise-floor draw, so that all notebooks print the same floor
FLOOR_SEED = 12_345


def w2_noise_floor(
    target: Sampler,
    n: int = 2000,
    draws: int = 5,
    seed: int = FLOOR_SEED,
    reference: Sampler | None = None,
) -> float:
    """Median W2 between two fresh samples of the target: what a perfect model scores at this n.

    Pass ``reference`` (an i.i.d. sampler of the same law) when ``target`` is not i.i.d.:
    scikit-learn's ``make_moons`` spaces its points evenly along the moons, so two of its samples
    are closer to each other than any i.i.d. sampler, a perfect model included, can come. The
    floor is then W2(reference sample, target sample). The single draws behind the median are
    ``w2_draws(reference or target, target, n, draws, seed=FLOOR_SEED)``.
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


def _check_xs(xs: Tensor) -> None:
    if not isinstance(xs, Tensor):
        raise TypeError(
            f"xs must be a trajectory tensor of shape (K, B, D) (e.g. fm.solve(..., "
            f"return_trajectory=True).xs); got {type(xs).__name__}"
        )
    if xs.ndim != 3:
        raise ValueError(
            f"xs must be a trajectory tensor of shape (K, B, D); got {tuple(xs.shape)}"
        )


def _check_trajectory(xs: Tensor, ts: Tensor) -> None:
    _check_xs(xs)
    if not isinstance(ts, Tensor):
        raise TypeError(f"ts must be a (K,) tensor of times; got {type(ts).__name__}")
    if ts.shape != xs.shape[:1]:
        raise ValueError(f"ts must have shape (K,) = ({xs.shape[0]},); got {tuple(ts.shape)}")


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
    _check_xs(xs)
    chord = (xs[-1] - xs[0]).norm(dim=1)
    length = (xs[1:] - xs[:-1]).norm(dim=2).sum(dim=0).clamp_min(1e-12)
    return float((chord / length).mean())


def conditional_energy(path, x_0: Tensor, x_1: Tensor, nodes: int = 64) -> float:
    """E int_0^1 ||u_t(x_t | x_0, x_1)||^2 dt of a path's conditional velocities. Section 6.2.2.

    ``path.sample(x_0, x_1, t).u_t`` is integrated by Gauss-Legendre quadrature: exact for the
    linear and curved paths (polynomial integrands). ``inf`` when u_t is infinite at t = 0 or
    t = 1: the VP path's sigma_t' grows like (1 - t)^(-1/2), so its energy diverges.
    """
    check_points(x_0, "x_0")
    check_points(x_1, "x_1")
    check_positive_int(nodes, "nodes")
    with torch.no_grad():
        for end in (0.0, 1.0):
            if not bool(torch.isfinite(path.sample(x_0, x_1, end).u_t).all()):
                return float("inf")
        z, w = np.polynomial.legendre.leggauss(nodes)
        total = 0.0
        for t, weight in zip((z + 1) / 2, w / 2, strict=True):
            total += weight * float(path.sample(x_0, x_1, float(t)).u_t.pow(2).sum(1).mean())
    return total


def _orientation(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Sign of the cross product (q - p) x (r - p), broadcast over leading axes."""
    return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (
        r[..., 0] - p[..., 0]
    )


def crossing_fraction(curves: np.ndarray | Tensor) -> float:
    """Fraction of pairs of polylines (L, K, 2) that cross each other in the plane. Section 6.2.3.

    Straight conditional paths of an OT coupling rarely cross; independent pairs cross often.
    Proper crossings only (segments of the same polyline, and touching ends, are not counted).
    """
    c = curves.detach().cpu().numpy() if isinstance(curves, Tensor) else np.asarray(curves)
    if c.ndim != 3 or c.shape[2] != 2 or c.shape[1] < 2:
        raise ValueError(f"curves must be polylines (L, K >= 2, 2); got shape {c.shape}")
    n_lines, k = c.shape[:2]
    if n_lines < 2:
        return 0.0
    a, b = c[:, :-1].reshape(-1, 2), c[:, 1:].reshape(-1, 2)  # segments, (L*(K-1), 2)
    owner = np.repeat(np.arange(n_lines), k - 1)
    crossed = np.zeros((n_lines, n_lines), dtype=bool)
    chunk = max(1, 2_000_000 // len(a))
    for s in range(0, len(a), chunk):
        p, q = a[s : s + chunk, None], b[s : s + chunk, None]  # (C, 1, 2)
        d1, d2 = _orientation(p, q, a[None]), _orientation(p, q, b[None])  # (C, N)
        d3, d4 = _orientation(a[None], b[None], p), _orientation(a[None], b[None], q)
        rows, cols = np.nonzero((d1 * d2 < 0) & (d3 * d4 < 0))
        crossed[owner[s + rows], owner[cols]] = True
    np.fill_diagonal(crossed, False)
    crossed |= crossed.T
    return float(crossed[np.triu_indices(n_lines, 1)].mean())


def time_in_region(xs: Tensor, ts: Tensor, inside: Callable[[Tensor], Tensor]) -> float:
    """Fraction of trajectory time the particles spend where ``inside(x)`` holds. Section 6.5.1.

    xs: (K, B, D) at times ts: (K,); ``inside`` maps (N, D) points to an (N,) bool tensor (for
    example ``fmlib.data.moons_gap``). The indicator is integrated over t by the trapezoid rule
    and averaged over the B particles, so a particle that stays inside counts 1.
    """
    _check_trajectory(xs, ts)
    if not callable(inside):
        raise TypeError(f"inside must be a function of points (N, D) -> (N,) bool; got {inside!r}")
    k, b, d = xs.shape
    if k < 2:
        raise ValueError(f"xs must hold at least two times; got K = {k}")
    flags = inside(xs.reshape(k * b, d))
    if not isinstance(flags, Tensor) or flags.shape != (k * b,):
        raise ValueError(
            f"inside must return a ({k * b},) bool tensor for {k * b} points; got {getattr(flags, 'shape', flags)}"
        )
    frac = flags.reshape(k, b).to(torch.float64).mean(dim=1)  # (K,)
    dt = (ts[1:] - ts[:-1]).abs().to(torch.float64)
    return float((0.5 * (frac[1:] + frac[:-1]) * dt).sum() / dt.sum())


def share_in_region(xs: Tensor, inside: Callable[[Tensor], Tensor]) -> Tensor:
    """The share of particles inside the region at each saved time: (K,) from xs: (K, B, D). Section 6.5.1.

    ``time_in_region`` integrates this curve over t; ``inside`` maps (N, D) points to (N,) bools.
    """
    _check_xs(xs)
    k, b, d = xs.shape
    return inside(xs.reshape(k * b, d)).reshape(k, b).to(torch.float64).mean(dim=1)


def flow_metrics(
    v: Callable,
    x_0: Tensor,
    *,
    steps: int = 25,
    inside: Callable[[Tensor], Tensor] | None = None,
    region: str = "region",
    nfe_points: int = 100,
    tol: float = 1e-5,
) -> dict[str, float]:
    """How a flow moves the points x_0: (B, D) from t = 0 to 1: one row of a path comparison. Section 6.5.1.

    From an RK4 solve with ``steps`` steps (every state kept): ``energy`` (``kinetic_energy``) and
    ``straightness``; ``dopri5 NFE``, the evaluations an adaptive solve (rtol = atol = ``tol``) of
    the first ``nfe_points`` points takes; with ``inside``, ``time in <region>`` (``time_in_region``)
    and ``ends in <region>``, the share of end points inside. Runs without gradients.
    """
    from .solvers import solve

    check_points(x_0, "x_0")
    with torch.no_grad():
        traj = solve(v, x_0, method="rk4", steps=steps, return_trajectory=True)
        nfe = solve(v, x_0[:nfe_points], method="dopri5", rtol=tol, atol=tol).nfe
    row = {
        "energy": kinetic_energy(traj.xs, traj.ts),
        "straightness": straightness(traj.xs),
        "dopri5 NFE": nfe,
    }
    if inside is not None:
        row[f"time in {region}"] = time_in_region(traj.xs, traj.ts, inside)
        row[f"ends in {region}"] = float(inside(traj.x).to(torch.float64).mean())
    return row


# ---------------------------------------------------------------- image-set measures (Section 6.6)


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix, by eigh."""
    vals, vecs = np.linalg.eigh(a)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_gaussians(
    mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """W2^2 between N(mean_a, cov_a) and N(mean_b, cov_b), in closed form. Section 6.6.

    |m_a - m_b|^2 + tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2): the squared Fréchet distance
    (Dowson and Landau, 1982), computed in float64 with symmetric eigendecompositions (the
    product under the outer root is symmetric, so no complex square root is needed).
    """
    m_a, m_b = (np.asarray(m, dtype=np.float64) for m in (mean_a, mean_b))
    c_a, c_b = (np.asarray(c, dtype=np.float64) for c in (cov_a, cov_b))
    d = m_a.shape[0]
    if m_a.shape != (d,) or m_b.shape != (d,) or c_a.shape != (d, d) or c_b.shape != (d, d):
        raise ValueError(
            f"means must be (D,) and covariances (D, D) with one D; got {m_a.shape}, "
            f"{c_a.shape}, {m_b.shape}, {c_b.shape}"
        )
    root_a = _sqrtm_psd(c_a)
    middle = root_a @ c_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(0.5 * (middle + middle.T)), 0.0, None)).sum()
    value = float(((m_a - m_b) ** 2).sum() + np.trace(c_a) + np.trace(c_b) - 2 * cross)
    return max(value, 0.0)


def frechet_distance(x: Tensor, y: Tensor) -> float:
    """The squared Fréchet distance between the Gaussian fits of x: (n, D) and y: (m, D). Section 6.6.

    The W2^2 between two Gaussians with the samples' means and covariances (unbiased, n - 1),
    as FID computes it on Inception features; here on whatever features the caller passes. Like
    any sample distance it is not zero for two samples of one law: read it against the value
    between two real samples of the same sizes (the noise floor).
    """
    for name, a in (("x", x), ("y", y)):
        check_points(a, name)
        if a.shape[0] < 2:
            raise ValueError(f"{name} needs at least 2 points for a covariance; got {a.shape[0]}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same D; got {x.shape[1]} and {y.shape[1]}")
    a, b = x.detach().double().numpy(), y.detach().double().numpy()
    return frechet_gaussians(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def nearest_distance(x: Tensor, reference: Tensor) -> Tensor:
    """Euclidean distance from each point of x: (n, D) to its nearest point of reference: (m, D).

    Returns (n,). The memorisation check of Section 6.6: generated images much closer to the
    training set than held-out real images are would be copies.
    """
    check_points(x, "x")
    check_points(reference, "reference", dim=x.shape[1])
    return torch.cdist(x.double(), reference.double()).min(dim=1).values
