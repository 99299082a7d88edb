"""Classifier-free guidance: class y and scale w, samples of the guided field. Section 6.5.3.

Drawn in the browser (``client = True``): the samples for every class and every w of the slider
are solved once, when the explorer is shown; the page switches between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .. import plotting as P
from .._validate import check_field, check_points, check_positive_int
from ..i18n import t as _t
from ..models import guided_field
from ..solvers import solve
from .shell import Explorer, Scene


class GuidanceScene(Scene):
    """Samples of the guided field for (y, w) over the unguided (w = 0) samples in grey."""

    kind, panels, size = "guidance-explorer", 1, (5.2, 4.6)
    client = True  # drawn in the browser: every (class, w) solved once (client.py)

    def __init__(self, model, lims, steps, method, x_0, names, w_max):
        super().__init__()
        self.model, self.lims, self.steps, self.method = model, lims, steps, method
        self.x_0, self.names, self.w_max = x_0, names, w_max
        self.cache: dict[tuple[int, float], tuple[Tensor, int]] = {}
        self.data = {"x_0": x_0, "cache": self.cache}

    def samples(self, y: int, w: float) -> tuple[Tensor, int]:
        key = (int(y), round(float(w), 6))
        if key not in self.cache:
            field = guided_field(self.model, *key)
            with torch.no_grad():
                sol = solve(field, self.x_0, method=self.method, steps=self.steps)
            self.cache[key] = (sol.x.detach(), sol.nfe)
        return self.cache[key]

    def controls(self, widgets):
        options = [(name, i) for i, name in enumerate(self.names)]
        y = widgets.Dropdown(options=options, value=0, description=_t("class"))
        w = widgets.FloatSlider(value=1.0, min=0.0, max=self.w_max, step=0.25, description=_t("w"))
        w.continuous_update = False
        return {"y": y, "w": w}

    def draw(self, figure, ax) -> None:
        unguided = self.samples(0, 0.0)[0]
        P.draw_samples(ax, unguided, color=P.GREY, size=5, alpha=0.4, label=_t("w = 0"))
        self.artists["samples"] = P.draw_samples(ax, self.x_0, size=6, alpha=0.8)
        P.set_limits(ax, self.lims)
        self.artists["title"] = ax.set_title("", fontsize=P.FONT["title"])
        self.artists["metrics"] = P.draw_metrics(ax, {})

    def update(self, state):
        y, w, a = int(state["y"]), float(state["w"]), self.artists
        x, nfe = self.samples(y, w)
        P.update_samples(a["samples"], x)
        a["samples"].set_color(P.PALETTE[y % len(P.PALETTE)])
        a["title"].set_text(_t("{name}, w = {w:.2f}", name=self.names[y], w=w))
        a["metrics"].set_text(P.format_metrics({"NFE": nfe, "std": float(x.std(0).mean())}))
        return a.values()


def guidance_explorer(
    model: Callable,
    lims: P.Lims = 3.0,
    n: int = 500,
    steps: int = 8,
    method: str = "midpoint",
    x_0: Tensor | None = None,
    class_names: Sequence[str] | None = None,
    w_max: float = 6.0,
    seed: int = 0,
) -> Explorer:
    """Classifier-free guidance: class y and scale w; samples of the guided field. Section 6.5.3.

    Samples are ``solve(guided_field(model, y, w), x_0, method, steps).x`` from fixed noise
    x_0: (n, 2) (drawn with ``seed`` when not given); grey points are the unguided (w = 0)
    samples for comparison. w = 1 is the conditional model, w > 1 pushes harder towards y.
    Drawn in the page: every class and every w on the slider (steps of 0.25 up to ``w_max``)
    is solved once, when the explorer is shown.
    """
    check_field(model, "model")
    num_classes = getattr(model, "num_classes", 0)
    if not num_classes:
        raise ValueError(
            "guidance needs a class-conditional model (VectorFieldMLP(num_classes=...))"
        )
    if x_0 is None:
        check_positive_int(n, "n")
        x_0 = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
    check_points(x_0, "x_0", dim=2)
    names = (
        list(class_names) if class_names is not None else [f"class {i}" for i in range(num_classes)]
    )
    if len(names) != num_classes:
        raise ValueError(f"class_names must name all {num_classes} classes; got {len(names)}")
    return Explorer(GuidanceScene(model, lims, steps, method, x_0, names, w_max))
