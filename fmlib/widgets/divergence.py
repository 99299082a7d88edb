"""Divergence at work: div v, particles coloured by log p_t(x_t), density inside/outside. Section 6.1.1."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import fields, grids
from .. import plotting as P
from .._validate import check_field, check_positive_int
from ..data import StandardGaussian
from ..i18n import t as _t
from ..likelihood import log_density_along_flow
from .flow import frame_index
from .shell import Explorer, Scene, TimeAxis


class DivergenceScene(Scene):
    """Left: div v and v at t; middle: particles coloured by log p_t(x_t); right: mean p_t in/out."""

    kind, panels, size = "divergence-explorer", 3, (10.5, 3.5)
    client = True  # drawn in the browser: every t computed once (client.py)

    def __init__(self, field, n, lims, steps, radius, source_std, seed, interval_ms):
        super().__init__()
        self.time = TimeAxis(steps, 0.0, interval_ms)
        self.field, self.lims, self.radius = field, grids.as_lims(lims), radius
        x_0 = source_std * StandardGaussian(2).sample(n, torch.Generator().manual_seed(seed))

        def log_p_0(x):  # N(0, source_std^2 I)
            return StandardGaussian(2).log_prob(x / source_std) - 2 * math.log(source_std)

        with torch.no_grad():
            flow = log_density_along_flow(field, x_0, log_p_0, method="rk4", steps=steps)
        inside = flow.xs.norm(dim=2) < radius  # (K, n)
        density = flow.log_p.exp()
        self.data = {
            "x_0": x_0,
            "xs": flow.xs,
            "log_p": flow.log_p,
            "ts": flow.ts,
            "mean_inside": (density * inside).sum(1) / inside.sum(1).clamp_min(1),
            "mean_outside": (density * ~inside).sum(1) / (~inside).sum(1).clamp_min(1),
        }

    def draw(self, figure, axes) -> None:
        ax_v, ax_p, ax_s = axes
        d, a = self.data, self.artists
        a["divergence"] = P.draw_divergence(ax_v, self.field, 0.0, self.lims, n=60, title="")
        a["field"] = P.draw_field(
            ax_v, self.field, 0.0, self.lims, n=15, color=P.OKABE_ITO["black"]
        )
        P.draw_circle(ax_v, self.radius)
        a["field_title"] = ax_v.set_title("", fontsize=P.FONT["title"])
        lo, hi = torch.quantile(d["log_p"].flatten(), torch.tensor([0.02, 0.98])).tolist()
        a["particles"] = P.draw_samples(
            ax_p, d["xs"][0], values=d["log_p"][0], vmin=lo, vmax=hi, size=6, alpha=0.9
        )
        figure.colorbar(a["particles"], ax=ax_p, shrink=0.85).ax.tick_params(
            labelsize=P.FONT["tick"]
        )
        P.draw_circle(ax_p, self.radius)
        P.set_limits(ax_p, self.lims)
        a["title"] = ax_p.set_title("", fontsize=P.FONT["title"])
        series = {
            _t("inside |x| < {radius:g}", radius=self.radius): d["mean_inside"],
            _t("outside"): d["mean_outside"],
        }
        a["inside"], a["outside"] = P.draw_series(
            ax_s,
            d["ts"],
            series,
            ylabel=_t("mean p_t(x_t)"),
            title=_t("density of the particles"),
        )
        a["marker"] = P.draw_time_marker(ax_s, 0.0)

    def update(self, state):
        t, a = float(state["t"]), self.artists
        k = frame_index(t, self.data["xs"].shape[0])
        P.update_samples(a["particles"], self.data["xs"][k], values=self.data["log_p"][k])
        P.update_signed(a["divergence"], grids.divergence_on_grid(self.field, t, self.lims, 60))
        P.update_field(a["field"], self.field, t)
        P.move_time_marker(a["marker"], t)
        a["field_title"].set_text(_t("div v and v at t = {t:.2f}", t=t))
        a["title"].set_text(_t("colour = log p_t(x_t), t = {t:.2f}", t=t))
        return [
            a[k] for k in ("particles", "divergence", "field", "marker", "field_title", "title")
        ]


def divergence_explorer(
    field: Callable | None = None,
    n: int = 1000,
    lims: P.Lims = 2.5,
    steps: int = 50,
    radius: float | None = None,
    source_std: float = 1.0,
    seed: int = 0,
    interval_ms: int = 100,
) -> Explorer:
    """Divergence at work: the field's div v, particles coloured by log p_t, density in/out. Section 6.1.1.

    n particles x_0 ~ N(0, source_std^2 I) follow v = ``field`` (default: ``source_sink()``),
    their log-density carried along by ``likelihood.log_density_along_flow`` (the instantaneous
    change of variables, closed-form divergence when the field has one). Left: div v (colour
    scale symmetric about 0) and arrows; middle: particles coloured by their exact
    log p_t(x_t); right: the mean density p_t(x_t) of particles inside vs outside |x| = radius
    (default: the source/sink's own radius) over t.
    """
    field = fields.source_sink() if field is None else field
    check_field(field, "field")
    check_positive_int(n, "n")
    check_positive_int(steps, "steps")
    if radius is None:
        radius = field.radius if isinstance(field, fields.SourceSink) else 1.0
    scene = DivergenceScene(field, n, lims, steps, float(radius), source_std, seed, interval_ms)
    return Explorer(scene)
