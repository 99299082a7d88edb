"""Digits forming from noise: a class, a guidance scale w and Play along t. Section 6.6.

For each (class, w) the guided flow is solved once from fixed noise with every step saved, so
moving the t slider (or Play) only shows a saved frame; a new class or w costs one solve.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .. import plotting as P
from .._validate import check_points, check_positive_int
from ..i18n import t as _t
from ..models import guided_field
from ..solvers import solve
from .flow import frame_index
from .shell import Explorer, Scene, TimeAxis


class DigitsScene(Scene):
    """A rows x cols grid of one class's samples x_t of the guided field, at the slider's t."""

    kind, panels, size = "digits-explorer", 1, (5.4, 2.8)

    def __init__(self, model, to_pixels, x_0, rows, steps, method, w_max):
        super().__init__()
        self.time = TimeAxis(steps, 1.0, 120)
        self.model, self.to_pixels, self.x_0 = model, to_pixels, x_0
        self.rows, self.cols = rows, x_0.shape[0] // rows
        self.steps, self.method, self.w_max = steps, method, w_max
        self.cache: dict[tuple[int, float], Tensor] = {}
        self.data = {"x_0": x_0, "cache": self.cache}

    def frames(self, y: int, w: float) -> Tensor:
        """The saved grey-level images (steps + 1, rows, cols, 8, 8) of class y at scale w."""
        key = (int(y), round(float(w), 6))
        if key not in self.cache:
            with torch.no_grad():
                sol = solve(
                    guided_field(self.model, *key),
                    self.x_0,
                    method=self.method,
                    steps=self.steps,
                    return_trajectory=True,
                )
            images = self.to_pixels(sol.xs.reshape(-1, sol.xs.shape[-1]))
            self.cache[key] = images.reshape(sol.xs.shape[0], self.rows, self.cols, 8, 8)
        return self.cache[key]

    def controls(self, widgets):
        y = widgets.Dropdown(
            options=list(range(self.model.num_classes)), value=0, description=_t("digit")
        )
        w = widgets.FloatSlider(value=1.0, min=0.0, max=self.w_max, step=0.5, description="w")
        w.continuous_update = False
        return {"y": y, "w": w}

    def draw(self, figure, ax) -> None:
        first = self.frames(0, 1.0)[-1]
        self.artists["images"] = P.draw_image_grid(ax, first)
        self.artists["title"] = ax.set_title("", fontsize=P.FONT["title"])

    def update(self, state):
        y, w, t = int(state["y"]), float(state["w"]), float(state["t"])
        frames = self.frames(y, w)
        P.update_image_grid(self.artists["images"], frames[frame_index(t, frames.shape[0])])
        self.artists["title"].set_text(_t("digit {y}, w = {w:.1f}, t = {t:.2f}", y=y, w=w, t=t))
        return [self.artists["images"], self.artists["title"]]


def digits_explorer(
    model: Callable,
    to_pixels: Callable[[Tensor], Tensor],
    rows: int = 2,
    cols: int = 8,
    steps: int = 16,
    method: str = "midpoint",
    w_max: float = 5.0,
    seed: int = 0,
) -> Explorer:
    """Digits of a class forming from noise along t, at guidance scale w. Section 6.6.

    ``model`` is a class-conditional ``VectorFieldMLP`` on 64-D digits, ``to_pixels`` maps its
    points (B, 64) to images (B, 8, 8) in grey levels (``fm.data.digits().to_pixels``). The
    rows x cols samples start from the same noise (drawn with ``seed``) for every class and w.
    """
    if not getattr(model, "num_classes", 0):
        raise ValueError(
            "the explorer needs a class-conditional model (VectorFieldMLP(num_classes=...))"
        )
    if not callable(to_pixels):
        raise TypeError(
            f"to_pixels must map points (B, D) to images (B, 8, 8); got {type(to_pixels).__name__}"
        )
    for name, value in (("rows", rows), ("cols", cols), ("steps", steps)):
        check_positive_int(value, name)
    x_0 = torch.randn(rows * cols, model.dim, generator=torch.Generator().manual_seed(seed))
    check_points(x_0, "x_0")
    return Explorer(DigitsScene(model, to_pixels, x_0, rows, steps, method, w_max))
