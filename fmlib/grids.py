"""Fields, divergences and densities evaluated on a square grid of the plane: pure, no drawing.

Every explorer and figure of Chapter 6 looks at a 2-D quantity on a grid: the arrows of v(., t),
the heat map of div v or curl v, a density p_t. This module computes them (torch in, numpy out,
images with rows = y for ``imshow(origin="lower")``); ``fmlib.plotting`` only draws what it gets.
Sections 6.1.1 to 6.5.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from . import fields

__all__ = [
    "Lims",
    "as_lims",
    "grid",
    "field_on_grid",
    "divergence_on_grid",
    "curl_on_grid",
    "density_on_grid",
    "histogram_density",
]

Lims = float | tuple[float, float] | tuple[tuple[float, float], tuple[float, float]]


def _to_numpy(a: Tensor | np.ndarray) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, Tensor) else np.asarray(a)


def as_lims(lims: Lims) -> tuple[tuple[float, float], tuple[float, float]]:
    """Normalise plot limits: ``3`` -> [-3, 3]^2, ``(lo, hi)`` -> [lo, hi]^2, or ``((x0, x1), (y0, y1))``."""
    try:
        if isinstance(lims, (int, float)) and not isinstance(lims, bool):
            out = ((-float(lims), float(lims)),) * 2
        elif len(lims) == 2 and all(isinstance(v, (int, float)) for v in lims):
            out = ((float(lims[0]), float(lims[1])),) * 2
        else:
            (x0, x1), (y0, y1) = lims
            out = ((float(x0), float(x1)), (float(y0), float(y1)))
    except (TypeError, ValueError):
        raise ValueError(
            f"lims must be a half-width, (lo, hi) or ((x_lo, x_hi), (y_lo, y_hi)); got {lims!r}"
        ) from None
    if not all(lo < hi for lo, hi in out):
        raise ValueError(f"lims must have lo < hi on both axes; got {out}")
    return out


def grid(lims: Lims, n: int = 20, dtype: torch.dtype = torch.float32) -> Tensor:
    """The n x n grid over ``lims`` as points (n*n, 2), x varying fastest (row i has y_i).

    ``values.reshape(n, n)`` of a per-point quantity is then an (H, W) image with rows = y,
    ready for ``imshow(origin="lower")``.
    """
    (x0, x1), (y0, y1) = as_lims(lims)
    xs, ys = torch.linspace(x0, x1, n, dtype=dtype), torch.linspace(y0, y1, n, dtype=dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (n, n) each
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def field_on_grid(v: Callable, points: Tensor, t: float) -> np.ndarray:
    """v(x, t) at ``points`` (N, 2), without a graph: an (N, 2) array of arrows. Section 6.1.1."""
    with torch.no_grad():
        return _to_numpy(v(points, t))


def divergence_on_grid(v: Callable, t: float, lims: Lims, n: int = 80) -> np.ndarray:
    """div v(x, t) on the n x n grid, (H, W); closed form when v has one. Section 6.1.1."""
    return _to_numpy(fields.field_divergence(v, grid(lims, n), t)).reshape(n, n)


def curl_on_grid(v: Callable, t: float, lims: Lims, n: int = 80) -> np.ndarray:
    """The scalar curl of v(., t) on the n x n grid, (H, W). Section 6.1.1."""
    return _to_numpy(fields.field_curl(v, grid(lims, n), t)).reshape(n, n)


def density_on_grid(log_p: Callable[[Tensor], Tensor], lims: Lims, n: int = 60) -> np.ndarray:
    """exp(log_p(x)) on the n x n grid: an (H, W) density image, rows = y. Section 6.1.1."""
    with torch.no_grad():
        values = log_p(grid(lims, n))
    return np.exp(_to_numpy(values).reshape(n, n))


def histogram_density(x: Tensor, lims: Lims, bins: int = 40) -> np.ndarray:
    """Normalised 2-D histogram of x: (B, 2) over ``lims``: an (H, W) density image, rows = y. Section 6.1.1."""
    (x0, x1), (y0, y1) = as_lims(lims)
    pts = _to_numpy(x)
    h, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=bins, range=[[y0, y1], [x0, x1]])
    cell = (x1 - x0) * (y1 - y0) / bins**2
    return h / max(len(pts), 1) / cell
