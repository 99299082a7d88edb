"""Solvers compared: samples at t = 1, NFE and error against a tight reference. Section 6.5.2.

Drawn in the browser (``client = True``): every method at every step count of the slider is
solved once, when the explorer is shown; the page switches between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .. import plotting as P
from .._validate import check_field, check_points, check_positive_int, check_same_shape
from ..i18n import t as _t
from ..solvers import METHODS, error_vs_nfe, solve
from .shell import Explorer, Scene


class SolverScene(Scene):
    """Left: the samples of the chosen solver over the reference; right: error against NFE."""

    kind, panels, size = "solver-explorer", 2, (9.0, 4.2)
    client = True  # drawn in the browser: every (method, steps) solved once (client.py)

    def __init__(self, v, x_0, reference, lims, max_steps, methods, curves):
        super().__init__()
        self.v, self.x_0, self.reference, self.lims = v, x_0, reference, lims
        self.methods, self.max_steps = list(methods), max_steps
        steps = [s for s in (2**i for i in range(12)) if s <= max_steps] if curves else []
        sweep = error_vs_nfe(v, x_0, reference, tuple(methods), tuple(steps)) if curves else []
        self.curves = sweep
        self.cache = {(r.method, r.steps): r for r in sweep}
        self.data = {"reference": reference, "cache": self.cache}

    def run(self, method: str, steps: int):
        key = (method, 0 if method == "dopri5" else int(steps))
        if key not in self.cache:
            self.cache[key] = error_vs_nfe(self.v, self.x_0, self.reference, (method,), key[1:])[0]
        return self.cache[key]

    def controls(self, widgets):
        method = widgets.Dropdown(
            options=self.methods, value=self.methods[0], description=_t("method")
        )
        steps = widgets.IntSlider(
            value=min(8, self.max_steps),
            min=1,
            max=self.max_steps,
            description=_t("steps"),
            continuous_update=False,
        )

        def disable_steps(change):  # dopri5 chooses its own steps
            steps.disabled = change["new"] == "dopri5"

        method.observe(disable_steps, names="value")
        return {"method": method, "steps": steps}

    def draw(self, figure, axes) -> None:
        ax_s, ax_e = axes
        P.draw_samples(ax_s, self.reference, color=P.GREY, size=5, alpha=0.5, label=_t("reference"))
        self.artists["samples"] = P.draw_samples(ax_s, self.reference, size=5, label=_t("solver"))
        P.set_limits(ax_s, self.lims)
        self.artists["title"] = ax_s.set_title("", fontsize=P.FONT["title"])
        self.artists["metrics"] = P.draw_metrics(ax_s, {})
        P.draw_error_vs_nfe(ax_e, self.curves)
        self.artists["current"] = P.draw_marker(ax_e)

    def update(self, state):
        run, a = self.run(state["method"], state["steps"]), self.artists
        P.update_samples(a["samples"], run.x)
        a["current"].set_data([run.nfe], [max(run.rms_error, 1e-12)])
        steps = run.steps or _t("adaptive")
        a["title"].set_text(_t("{method}, steps = {steps}", method=run.method, steps=steps))
        a["metrics"].set_text(P.format_metrics({"NFE": run.nfe, "RMS error": run.rms_error}))
        return a.values()


def solver_explorer(
    v: Callable,
    x_0: Tensor,
    reference: Tensor | None = None,
    lims: P.Lims = 3.0,
    max_steps: int = 50,
    methods: Sequence[str] = METHODS,
    curves: bool = True,
) -> Explorer:
    """Solvers compared: method dropdown and step count; samples, NFE and error. Section 6.5.2.

    The error is the RMS distance sqrt(mean ||x - x_ref||^2) of the samples at t = 1 to
    ``reference`` (default: a tight dopri5 solve, rtol = atol = 1e-7, from the same x_0: (B, 2)).
    With ``curves``, error against NFE for every method on steps 1, 2, 4, ... is drawn once
    (``solvers.error_vs_nfe``), and the current choice is marked on it. dopri5 adapts and
    ignores the steps. Drawn in the page: every method at every step count up to ``max_steps``
    is solved once, when the explorer is shown.
    """
    check_field(v)
    check_points(x_0, "x_0", dim=2)
    check_positive_int(max_steps, "max_steps")
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}; got {list(methods)}")
    if reference is None:
        with torch.no_grad():
            reference = solve(v, x_0, method="dopri5", rtol=1e-7, atol=1e-7).x
    check_points(reference, "reference", dim=2)
    check_same_shape(x_0, reference, "x_0 and reference")
    return Explorer(SolverScene(v, x_0, reference, lims, max_steps, methods, curves))
