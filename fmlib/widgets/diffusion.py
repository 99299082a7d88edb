"""Diffusion and flow matching side by side: the same noise carried by both samplers. Section 6.4.2.

Left: a diffusion model's sampler (its probability-flow ODE, or the reverse SDE by Euler-Maruyama);
right: a flow-matching model's ODE. Both start from the same x_0 at t = 0; the t slider (with
Play) moves both, faint lines show a few whole paths, and a box gives each path's NFE,
straightness and kinetic energy. Everything is solved once, in ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .. import plotting as P
from .._validate import check_field, check_generator, check_points, check_positive_int
from ..diffusion import VPSDE, reverse_sde_trajectory
from ..i18n import t as _t
from ..ot import kinetic_energy, straightness
from ..solvers import solve
from .flow import frame_index
from .shell import Explorer, Scene, TimeAxis

SAMPLERS = {"probability-flow ODE": "ode", "reverse SDE": "sde"}


class DiffusionFlowScene(Scene):
    """Two panels, one time axis: the diffusion sampler on the left, the FM ODE on the right."""

    kind, panels, size = "diffusion-explorer", 2, (9.6, 4.9)
    client = True  # drawn in the browser: every t and sampler computed once (client.py)

    def __init__(self, runs: dict, lims: float, trails: int, steps: int, interval_ms: int):
        super().__init__()
        self.time = TimeAxis(steps, 0.0, interval_ms)
        self.lims, self.trails = lims, trails
        self.data = {
            name: {
                "xs": run.xs,
                "ts": run.ts,
                "nfe": run.nfe,
                "straightness": straightness(run.xs),
                "kinetic_energy": kinetic_energy(run.xs, run.ts),
            }
            for name, run in runs.items()
        }

    def controls(self, widgets):
        shown = {"ode": _t("probability-flow ODE"), "sde": _t("reverse SDE")}
        options = [(shown[key], key) for key in SAMPLERS.values() if key in self.data]
        return {
            "sampler": widgets.Dropdown(
                options=options,
                value="ode",
                description=_t("diffusion"),
                style={"description_width": "70px"},
            )
        }

    def metrics(self, key: str) -> dict:
        d = self.data[key]
        return {
            "NFE": d["nfe"],
            "straightness": d["straightness"],
            "kinetic E": d["kinetic_energy"],
        }

    def draw(self, figure, axes) -> None:
        ax_d, ax_f = axes
        fm = self.data["fm"]
        self.artists = {
            "diffusion_trails": P.draw_trajectories(
                ax_d, self.data["ode"]["xs"], max_lines=self.trails, color=P.GREY, alpha=0.45
            ),
            "diffusion": P.draw_samples(
                ax_d, self.data["ode"]["xs"][0], color=P.PALETTE[1], size=6
            ),
            "diffusion_title": ax_d.set_title("", fontsize=P.FONT["title"]),
            "diffusion_metrics": P.draw_metrics(ax_d, self.metrics("ode"), loc="lower left"),
            "flow_trails": P.draw_trajectories(
                ax_f, fm["xs"], max_lines=self.trails, color=P.GREY, alpha=0.45
            ),
            "flow": P.draw_samples(ax_f, fm["xs"][0], color=P.PALETTE[0], size=6),
            "flow_title": ax_f.set_title("", fontsize=P.FONT["title"]),
            "flow_metrics": P.draw_metrics(ax_f, self.metrics("fm"), loc="lower left"),
        }
        for ax in axes:
            P.set_limits(ax, self.lims)
        # constrained layout leaves too little room above two-line titles (their top was cut by
        # 3 px): pad the top
        figure.get_layout_engine().set(h_pad=0.08)

    def update(self, state):
        t, key, a = float(state["t"]), state["sampler"], self.artists
        d, f = self.data[key], self.data["fm"]
        P.update_samples(a["diffusion"], d["xs"][frame_index(t, d["xs"].shape[0])])
        P.update_samples(a["flow"], f["xs"][frame_index(t, f["xs"].shape[0])])
        # a reverse-SDE path is jagged: a quarter as many keep the samples visible beneath them
        trails = self.trails if key == "ode" else max(1, self.trails // 4)
        a["diffusion_trails"].set_segments(P.trajectory_segments(d["xs"], trails))
        a["diffusion_metrics"].set_text(P.format_metrics(self.metrics(key)))
        if key == "ode":
            a["diffusion_title"].set_text(_t("diffusion, probability-flow ODE\nt = {t:.2f}", t=t))
        else:
            a["diffusion_title"].set_text(_t("diffusion, reverse SDE\nt = {t:.2f}", t=t))
        a["flow_title"].set_text(_t("flow matching, ODE\nt = {t:.2f}", t=t))
        return a.values()


def diffusion_explorer(
    diffusion_field: Callable,
    flow_field: Callable,
    x_0: Tensor,
    *,
    score: Callable | None = None,
    sde: VPSDE | None = None,
    steps: int = 40,
    sde_steps: int = 200,
    t_end: float = 1.0 - 1e-3,
    method: str = "rk4",
    generator: torch.Generator | None = None,
    lims: float = 3.0,
    trails: int = 60,
    interval_ms: int = 100,
) -> Explorer:
    """The same noise x_0: (B, 2) through a diffusion model and a flow-matching model. Section 6.4.2.

    ``diffusion_field`` is the probability-flow ODE field (``fmlib.diffusion.probability_flow_field``),
    solved from t = 0 to ``t_end`` (its score blows up at t = 1); ``flow_field`` is solved from 0 to
    1; both with ``steps`` steps of ``method``. With ``score`` (and ``sde``, VP by default) a
    dropdown switches the left panel to the reverse SDE, ``sde_steps`` Euler-Maruyama steps
    drawn with ``generator``, shown at the same ``steps + 1`` times.
    """
    check_field(diffusion_field, "diffusion_field")
    check_field(flow_field, "flow_field")
    check_points(x_0, "x_0", dim=2)
    check_positive_int(steps, "steps")
    check_generator(generator)
    if score is not None:
        check_field(score, "score")
        check_positive_int(sde_steps, "sde_steps")
        if sde_steps % steps:
            raise ValueError(f"sde_steps must be a multiple of steps = {steps}; got {sde_steps}")
    with torch.no_grad():
        runs = {
            "ode": solve(
                diffusion_field, x_0, t1=t_end, method=method, steps=steps, return_trajectory=True
            ),
            "fm": solve(flow_field, x_0, method=method, steps=steps, return_trajectory=True),
        }
        if score is not None:
            runs["sde"] = reverse_sde_trajectory(
                score,
                sde if sde is not None else VPSDE(),
                x_0,
                steps=sde_steps,
                generator=generator,
                t_end=t_end,
                save_at=steps,
            )
    return Explorer(DiffusionFlowScene(runs, lims, trails, steps, interval_ms))
