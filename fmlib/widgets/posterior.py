"""Which data points a point x_t came from: the posterior weights and the average velocity. Section 6.3.2.

Drawn in the browser (``client = True``): every (x, y, t) of its controls is computed once when it
is shown, on a grid of ``x_step`` in x and y and ``frames`` steps in t; the page plays and slides
through them. Its texts are the few strings the page can hold as matplotlib's own glyphs: the x
title and the t title apart, one metric a line.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.colors import to_rgba
from torch import Tensor

from .. import plotting as P
from .._validate import check_points, check_positive_int
from ..analytic import EmpiricalTarget
from ..data import StandardGaussian
from ..i18n import t as _t
from ..paths import linear_path
from .shell import Explorer, Scene, TimeAxis


def METRIC_LINES() -> tuple[str, ...]:  # noqa: N802 - a constant, in the chosen language
    """The metrics box's lines, fixed widths (the box is drawn once, the size of all three)."""
    return (
        _t("effective points 1/sum q^2 = {v:4.1f}"),
        _t("largest weight = {v:4.2f}"),
        _t("|u_t(x)| = {v:4.1f}"),
    )


class PosteriorScene(Scene):
    """Left: p_t, the query x, lines to the data weighted by q(j | x_t = x), and (1 - t) u_t(x);
    right: the weights over the data points (ordered left to right)."""

    kind, panels, size = "posterior-explorer", 2, (10.0, 4.4)
    client = True  # drawn in the browser: every (x, y, t) computed once (client.py)

    def __init__(self, points, x, t, sigma_min, n, lims, frames, seed, x_step=0.5):
        super().__init__()
        self.time = TimeAxis(frames, t)
        self.x_step, self._lines_from = x_step, None
        order = torch.argsort(points[:, 0])  # bars left to right, as the points lie in the plane
        self.points, self.lims, self.x = points[order].float(), lims, x
        self.target = EmpiricalTarget(self.points, linear_path(sigma_min))
        g = torch.Generator().manual_seed(seed)
        x_0 = StandardGaussian(2).sample(n, g)
        x_1 = self.points[torch.randint(len(points), (n,), generator=g)]
        self.pair = (x_0, x_1)  # background: one fixed draw of pairs, moved along their paths
        self.data = {"target": self.target, "points": self.points}

    def controls(self, widgets):
        def slider(name, value):
            return widgets.FloatSlider(
                value=value, min=-self.lims, max=self.lims, step=self.x_step, description=name
            )

        return {"x": slider(_t("x"), self.x[0]), "y": slider(_t("y"), self.x[1])}

    def draw(self, figure, axes) -> None:
        ax, ax_w = axes
        a, pts, n = self.artists, self.points, len(self.points)
        a["p_t"] = P.draw_samples(ax, self.pair[0], color=P.GREY, size=3, alpha=0.35)
        a["lines"] = P.draw_segments(ax, pts, pts, max_lines=n, color=P.OKABE_ITO["blue"])
        a["lines"].set_alpha(None)  # opacity per line, set from the weights in update()
        a["points"] = P.draw_samples(ax, pts, color=P.OKABE_ITO["orange"], size=12, alpha=0.9)
        a["query"] = ax.scatter([0.0], [0.0], marker="X", s=90, color="black", zorder=6)
        a["arrow"] = ax.quiver(
            [0.0], [0.0], [0.0], [0.0], angles="xy", scale_units="xy", scale=1.0,
            color=P.OKABE_ITO["vermillion"], width=0.012, zorder=7,
        )  # fmt: skip
        a["mean"] = ax.scatter(
            [0.0], [0.0], marker="*", s=160, color=P.OKABE_ITO["green"], zorder=8
        )
        P.set_limits(ax, self.lims)
        # two titles, x on the left and t on the right: few distinct strings for the page
        a["title"] = ax.set_title("", fontsize=P.FONT["title"], loc="left")
        a["t_title"] = ax.set_title("", fontsize=P.FONT["title"], loc="right")
        a["weights"] = ax_w.stairs(
            np.zeros(n), np.arange(n + 1) - 0.5, fill=True, color=P.PALETTE[0]
        )
        ax_w.set_xlim(-0.5, n - 0.5)
        ax_w.set_ylim(0, 1.45)  # room above the bars for the metrics box
        ax_w.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        P.label_axes(ax_w, _t("data point j (ordered by x)"), _t("q(j | x_t = x)"))
        # the metrics box, one text a line (fixed widths) over a still box the size of all three
        box = P.draw_metrics(ax_w, {}, loc="upper right")
        box.set_text("\n".join(line.format(v=0.0) for line in METRIC_LINES()))
        box.set_color((0, 0, 0, 0))  # the box only; the lines below carry the numbers
        box.set_zorder(0.5)  # below the bars (the box sits above them, in the room left there)
        a["metrics_box"] = box
        for k in range(len(METRIC_LINES())):
            text = P.draw_metrics(ax_w, {}, loc="upper right", boxed=False)
            a[f"metrics_{k}"] = text

    def update(self, state):
        t, a = float(state["t"]), self.artists
        x = torch.tensor([[float(state["x"]), float(state["y"])]])
        with torch.no_grad():
            r = self.target.posterior(x, t)[0]  # (N,)
            u = self.target.velocity(x, t)[0]  # (D,)
        e_x1 = r @ self.points  # the posterior mean E[x_1 | x_t = x]
        p_t = self.target.path.sample(*self.pair, t).x_t
        P.update_samples(a["p_t"], p_t)
        if self._lines_from != tuple(x[0].tolist()):  # the lines' ends move with x only
            self._lines_from = tuple(x[0].tolist())
            segments = np.stack([np.broadcast_to(x.numpy(), self.points.shape), self.points], 1)
            a["lines"].set_segments(segments)
        colours = np.tile(to_rgba(P.OKABE_ITO["blue"]), (len(r), 1))
        # line opacity ~ weight (the conditional u_t point there), in the 256 levels Agg draws
        colours[:, 3] = np.round(255 * (r / r.max()).numpy()) / 255
        a["lines"].set_color(colours)
        a["points"].set_sizes((12 + 150 * r).numpy())
        a["query"].set_offsets(x.numpy())
        a["arrow"].set_offsets(x.numpy())
        a["arrow"].set_UVC([(1 - t) * float(u[0])], [(1 - t) * float(u[1])])
        a["mean"].set_offsets(e_x1[None].numpy())
        a["weights"].set_data(values=r.numpy())
        a["title"].set_text(_t("x = ({x:.2f}, {y:.2f})", x=float(x[0, 0]), y=float(x[0, 1])))
        a["t_title"].set_text(_t("t = {t:.2f}", t=t))
        metrics = (float(1 / r.pow(2).sum()), float(r.max()), float(u.norm()))
        for k, (line, value) in enumerate(zip(METRIC_LINES(), metrics, strict=True)):
            a[f"metrics_{k}"].set_text("\n" * k + line.format(v=value))
        return [v for k, v in a.items() if k != "metrics_box"]


def posterior_explorer(
    points: Tensor,
    x: tuple[float, float] = (0.5, 0.5),
    t: float = 0.5,
    sigma_min: float = 0.05,
    n: int = 600,
    lims: float = 2.5,
    frames: int = 20,
    seed: int = 0,
    x_step: float = 0.5,
) -> Explorer:
    """Pick a point x and a time t: the posterior q(j | x_t = x) over data points and u_t(x). Section 6.3.2.

    For the straight path (smoothed by ``sigma_min``) from N(0, I) to the points: (N, 2)
    (``analytic.EmpiricalTarget``). Left: samples of p_t (grey), the data (orange, size grows
    with the weight), lines from x to each data point with opacity proportional to its weight
    (the conditional velocities point along them), the posterior mean E[x_1 | x_t = x] (green
    star) and the marginal velocity as the arrow (1 - t) u_t(x) (red), which ends near that mean.
    Right: the weights, data points ordered by their x coordinate, and the effective number of
    points 1 / sum_j q_j^2. Sliders x, y (a grid of ``x_step`` over [-lims, lims]); t with Play
    (``frames`` steps): watch the weights collapse on one point. Drawn in the page: every state
    of that grid is computed once, when the explorer is shown.
    """
    check_points(points, "points", dim=2)
    if len(x) != 2:
        raise ValueError(f"x must be a 2-D point (x, y); got {x!r}")
    check_positive_int(frames, "frames")
    check_positive_int(n, "n")
    if not isinstance(x_step, (int, float)) or not 0 < x_step <= lims:
        raise ValueError(f"x_step must be a number in (0, lims = {lims}]; got {x_step!r}")
    if not 0.0 < sigma_min < 1.0:
        raise ValueError(
            f"sigma_min must lie in (0, 1) so that t = 1 is defined; got {sigma_min!r}"
        )
    scene = PosteriorScene(points, x, t, sigma_min, n, float(lims), frames, seed, float(x_step))
    return Explorer(scene)
