"""Particles carried by a vector field: the field, the particles and their density over t. Section 6.1.1."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .. import grids
from .. import plotting as P
from .._validate import check_field, check_points, check_positive_int
from ..i18n import t as _t
from ..solvers import solve
from .shell import Explorer, Scene, TimeAxis


def frame_index(t: float, count: int) -> int:
    """Index of the saved state nearest to t on a uniform grid of ``count`` times over [0, 1]."""
    return min(max(int(round(float(t) * (count - 1))), 0), count - 1)


class FlowScene(Scene):
    """Left: v(., t) and the particles x_t; right: their histogram, or exp(density(x, t))."""

    kind, panels, size = "flow-explorer", 2, (9.0, 4.2)
    client = True  # drawn in the browser: every t computed once (client.py)

    def __init__(self, v, x_0, lims, steps, method, density, n_grid, bins, density_n, interval_ms):
        super().__init__()
        self.time = TimeAxis(steps, 0.0, interval_ms)
        self.v, self.lims, self.density, self.n_grid = v, grids.as_lims(lims), density, n_grid
        self.bins, self.density_n = bins, density_n
        with torch.no_grad():
            sol = solve(v, x_0, method=method, steps=steps, return_trajectory=True)
        self.xs = sol.xs.detach()  # (steps + 1, B, 2)
        self.data = {"xs": self.xs, "ts": sol.ts, "nfe": sol.nfe}

    def density_image(self, t: float, k: int):
        if self.density is None:
            return grids.histogram_density(self.xs[k], self.lims, self.bins)
        return grids.density_on_grid(lambda x: self.density(x, t), self.lims, self.density_n)

    def draw(self, figure, axes) -> None:
        ax_f, ax_d = axes
        self.artists = {
            "field": P.draw_field(
                ax_f, self.v, 0.0, self.lims, n=self.n_grid, scale_times=(0.25, 0.5, 0.75, 1.0)
            ),
            "particles": P.draw_samples(ax_f, self.xs[0], size=5, alpha=0.6),
            "title": ax_f.set_title("", fontsize=P.FONT["title"]),
            "density": P.draw_density(ax_d, self.density_image(0.0, 0), self.lims),
            "density_title": ax_d.set_title("", fontsize=P.FONT["title"]),
        }

    def update(self, state):
        t = float(state["t"])
        k = frame_index(t, self.xs.shape[0])
        a = self.artists
        P.update_samples(a["particles"], self.xs[k])
        P.update_field(a["field"], self.v, t)
        P.update_density(a["density"], self.density_image(t, k))
        if self.density is not None:
            a["density_title"].set_text(_t("p_t (exact), t = {t:.2f}", t=t))
        else:
            a["density_title"].set_text(_t("particle histogram, t = {t:.2f}", t=t))
        a["title"].set_text(_t("v_t and particles, t = {t:.2f}", t=t))
        return a.values()


def flow_explorer(
    v: Callable,
    x_0: Tensor,
    lims: P.Lims = 3.0,
    steps: int = 50,
    method: str = "midpoint",
    density: Callable | None = None,
    n_grid: int = 20,
    bins: int = 40,
    density_n: int = 50,
    interval_ms: int = 100,
) -> Explorer:
    """Particles x_0: (B, 2) carried by v(x, t): t slider + Play, field, particles and p_t. Section 6.1.1.

    The ODE is solved once (``solve(return_trajectory=True)``, ``steps`` steps of ``method``);
    the slider picks the saved state at t. Left: quiver of v(., t) on an ``n_grid`` square grid
    and the particles. Right: their 2-D histogram, or ``exp(density(x, t))`` when an exact
    log-density ``density(x, t) -> (B,)`` is given.
    """
    check_field(v)
    check_points(x_0, "x_0", dim=2)
    check_positive_int(steps, "steps")
    if density is not None and not callable(density):
        raise TypeError(
            f"density must be a log-density function density(x, t) -> (B,) or None; got {type(density).__name__}"
        )
    scene = FlowScene(v, x_0, lims, steps, method, density, n_grid, bins, density_n, interval_ms)
    return Explorer(scene)
