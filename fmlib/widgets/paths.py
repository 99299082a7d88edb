"""Linear, OT-coupled, VP-diffusion and curved conditional paths side by side. Section 6.2.3."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .. import grids
from .. import plotting as P
from .._validate import check_points, check_positive_int, check_same_shape
from ..couplings import ot_pairing
from ..i18n import t as _t
from ..ot import conditional_energy, crossing_fraction
from ..paths import CurvedPath, linear_path, vp_path
from .shell import Explorer, Scene, TimeAxis


def _path_names() -> dict[str, str]:
    """Each panel's path name in the chosen language (read when drawn, not at import)."""
    return {
        "linear": _t("linear"),
        "OT-coupled": _t("OT-coupled"),
        "VP diffusion": _t("VP diffusion"),
        "curved": _t("curved"),
    }


class PathScene(Scene):
    """One panel per path: its conditional paths, x_0, x_1, and x_t at the slider's t."""

    kind, panels, size = "path-comparison", 4, (10.5, 3.8)
    client = True  # drawn in the browser: every t computed once (client.py)

    def __init__(self, x_0, x_1, t, bend, max_lines, lims, frames, interval_ms):
        super().__init__()
        self.time = TimeAxis(frames, t, interval_ms)
        self.lims = lims if lims is not None else default_lims(x_0, x_1)
        x_0_ot = ot_pairing(x_0, x_1).x_0
        self.paths = {
            "linear": (linear_path(), x_0),
            "OT-coupled": (linear_path(), x_0_ot),
            "VP diffusion": (vp_path(), x_0),
            "curved": (CurvedPath(bend), x_0),
        }
        self.x_1, self.max_lines = x_1, max_lines
        ts = torch.linspace(0, 1, 25)
        with torch.no_grad():
            self.curves = {  # (L, 25, 2) polylines of the first max_lines pairs
                name: torch.stack([path.sample(*self.pair(name), float(s)).x_t for s in ts], 1)
                for name, (path, _) in self.paths.items()
            }
        metrics = {
            name: {
                "energy": conditional_energy(path, src, x_1),
                "crossing": crossing_fraction(self.curves[name]),
            }
            for name, (path, src) in self.paths.items()
        }
        self.data = {"metrics": metrics, "x_0_ot": x_0_ot}

    def pair(self, name: str) -> tuple[Tensor, Tensor]:
        return self.paths[name][1][: self.max_lines], self.x_1[: self.max_lines]

    def draw(self, figure, axes) -> None:
        for ax, name in zip(axes, self.paths, strict=True):
            x_0, x_1 = self.pair(name)
            P.draw_trajectories(ax, self.curves[name].transpose(0, 1), color=P.GREY, alpha=0.5)
            P.draw_samples(ax, x_0, color=P.OKABE_ITO["black"], size=5, alpha=0.35)
            P.draw_samples(ax, x_1, color=P.OKABE_ITO["orange"], size=5, alpha=0.6)
            self.artists[name] = P.draw_samples(ax, x_0, color=P.OKABE_ITO["blue"], size=14)
            P.set_limits(ax, self.lims)
            m = self.data["metrics"][name]
            energy = "∞" if math.isinf(m["energy"]) else f"{m['energy']:.2f}"
            title = _t(
                "{name}\nenergy {energy}, crossing {crossing:.0%}",
                name=_path_names()[name],
                energy=energy,
                crossing=m["crossing"],
            )
            ax.set_title(title, fontsize=P.FONT["text"])
            ax.tick_params(labelleft=ax is axes[0])
        self.artists["title"] = figure.suptitle("", fontsize=P.FONT["title"])

    def update(self, state):
        t = float(state["t"])
        with torch.no_grad():
            for name, (path, _) in self.paths.items():
                P.update_samples(self.artists[name], path.sample(*self.pair(name), t).x_t)
        self.artists["title"].set_text(
            _t("conditional paths x_0 → x_1 and x_t at t = {t:.2f}", t=t)
        )
        return self.artists.values()


def default_lims(*xs: Tensor, margin: float = 1.15) -> float:
    """A square half-width holding 99 % of the points' coordinates, with a margin."""
    return float(max(x.detach().abs().float().quantile(0.99) for x in xs)) * margin


def path_comparison(
    x_0: Tensor,
    x_1: Tensor,
    t: float = 0.5,
    a: float = 1.0,
    max_lines: int = 64,
    lims: P.Lims | None = None,
    frames: int = 50,
    interval_ms: int = 100,
) -> Explorer:
    """Linear, OT-coupled, VP-diffusion and curved conditional paths side by side at one t. Section 6.2.3.

    Each panel shows the conditional paths of the first ``max_lines`` pairs, the points x_t at
    the slider's t, and two numbers: the kinetic energy E int ||u_t||^2 dt of the conditional
    paths (``ot.conditional_energy``, all pairs) and the fraction of drawn paths that cross
    (``ot.crossing_fraction``). x_0, x_1: (B, 2); ``a`` bends the curved path.
    """
    check_points(x_0, "x_0", dim=2)
    check_points(x_1, "x_1", dim=2)
    check_same_shape(x_0, x_1)
    check_positive_int(frames, "frames")
    lims = grids.as_lims(lims) if lims is not None else None
    return Explorer(PathScene(x_0, x_1, t, a, max_lines, lims, frames, interval_ms))
