"""Hutchinson's trace estimator with k probes against the exact divergence. Section 6.1.2."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from .. import plotting as P
from .._validate import check_field, check_points, check_positive_int
from ..i18n import t as _t
from ..likelihood import divergence_exact, hutchinson_running_mean
from .shell import Explorer, Scene

PROBES = ("gaussian", "rademacher")


class HutchinsonScene(Scene):
    """Left: estimate against exact div v per point; right: histogram of the errors."""

    kind, panels, size = "hutchinson-explorer", 2, (9.0, 4.0)

    def __init__(self, v, x, t, k_max, bins, seed):
        super().__init__()
        self.k_max, self.exact = k_max, divergence_exact(v, x, t).detach()  # (B,)
        self.running = {  # (k_max, B) each, one seeded generator per probe type
            p: hutchinson_running_mean(v, x, t, k_max, p, torch.Generator().manual_seed(seed))
            for p in PROBES
        }
        errors = torch.stack([r - self.exact for r in self.running.values()])  # (2, k_max, B)
        spread = float(errors[:, 0].abs().quantile(0.98)) or 1.0
        self.edges = np.linspace(-spread, spread, bins + 1)
        # one height for every k keeps the axes static between frames
        self.top = max(
            np.histogram(e, self.edges, density=True)[0].max() for e in errors.flatten(0, 1).numpy()
        )
        self.data = {"exact": self.exact, "running_mean": self.running, "edges": self.edges}

    def controls(self, widgets):
        k = widgets.IntSlider(value=1, min=1, max=self.k_max, description="k")
        probe = widgets.ToggleButtons(
            options=list(PROBES), value="gaussian", description=_t("probe")
        )
        probe.style.button_width = "90px"
        return {"k": k, "probe": probe}

    def draw(self, figure, axes) -> None:
        ax_s, ax_h = axes
        values = torch.cat([self.exact, *(r.flatten() for r in self.running.values())])
        lo, hi = float(values.min()), float(values.max())
        lims = (lo - 0.05 * (hi - lo or 1.0), hi + 0.05 * (hi - lo or 1.0))
        ax_s.plot(lims, lims, color=P.GREY, linewidth=1)
        a = self.artists
        a["points"] = P.draw_samples(ax_s, torch.stack([self.exact, self.exact], 1), alpha=0.6)
        P.set_limits(ax_s, lims, equal=False)
        P.label_axes(ax_s, _t("exact div v"), _t("Hutchinson estimate"))
        a["title"] = ax_s.set_title("", fontsize=P.FONT["title"])
        a["histogram"] = P.draw_histogram(
            ax_h, self.running["gaussian"][0] - self.exact, self.edges
        )
        ax_h.axvline(0.0, color=P.OKABE_ITO["black"], linewidth=1.2, linestyle=":")
        P.label_axes(ax_h, _t("estimate − exact"), None, _t("errors over the points"))
        ax_h.set_ylim(0, 1.1 * float(self.top))
        a["metrics"] = P.draw_metrics(ax_h, {})

    def update(self, state):
        k, probe, a = int(state["k"]), state["probe"], self.artists
        estimate = self.running[probe][k - 1]
        error = estimate - self.exact
        P.update_samples(a["points"], torch.stack([self.exact, estimate], dim=1))
        a["histogram"].set_data(values=np.histogram(error.numpy(), self.edges, density=True)[0])
        a["title"].set_text(
            _t(
                "{probe}, k = {k}",
                probe={"gaussian": _t("gaussian"), "rademacher": _t("rademacher")}[probe],
                k=k,
            )
        )
        # the sample mean of the errors over the points, with its standard error: the estimator
        # is unbiased for every k, so this mean is 0 up to a few standard errors
        mean, se = float(error.mean()), float(error.std() / len(error) ** 0.5)
        rms = float(error.pow(2).mean().sqrt())
        metrics = {
            "k": k,
            _t("mean error (± SE)"): f"{mean:.3g} ± {se:.2g}",
            _t("RMS error"): rms,
        }
        a["metrics"].set_text(P.format_metrics(metrics))
        return a.values()


def hutchinson_explorer(
    v: Callable, x: Tensor, t: float = 0.5, k_max: int = 64, bins: int = 40, seed: int = 0
) -> Explorer:
    """Hutchinson's trace estimator: k probes, Gaussian or Rademacher, vs the exact div v. Section 6.1.2.

    For each point of x: (B, D) the estimate is the mean of the first k of ``k_max`` probes
    (``likelihood.hutchinson_running_mean``). Left: estimate against the exact divergence (on the
    diagonal when exact); right: histogram of the errors estimate - exact, centred at 0
    (unbiased) and narrowing like 1/sqrt(k); the panel prints the errors' sample mean with its
    standard error, and their RMS.
    """
    check_field(v)
    check_points(x, "x")
    check_positive_int(k_max, "k_max")
    return Explorer(HutchinsonScene(v, x, t, k_max, bins, seed))
