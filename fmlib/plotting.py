"""Drawing for the Chapter 6 notebooks: ``draw_*(ax, ...) -> artists`` on an axes you give.

Nothing here calls ``plt.show()`` or touches pyplot's global state: ``new_figure`` makes an Agg
``Figure`` that no pyplot window knows about (a notebook displays it by leaving it as a cell's
last value), and every ``draw_*`` returns its artists so that a widget can update them in place
(``set_offsets``, ``set_UVC``, ``set_data``, ``set_segments``, ``set_text``) instead of drawing
again. One colour-blind-safe palette (Okabe and Ito) and font sizes that read on a projector,
set explicitly per artist. Drawing never changes matplotlib's global ``rcParams``; the one
function that does is the teacher's switch ``presentation()`` (projector mode, for pyplot figures
too), which changes only the keys in ``_PROJECTOR_RC`` and restores them exactly when switched
off. The other is the language: with ``fm.configure(lang="zh")`` the labels and titles drawn here
are Chinese (:mod:`fmlib.i18n`) and the font family is a CJK font (``i18n.apply_fonts``, also
run when this module is imported). Titles and labels passed in go through ``i18n.term``.
Serves Sections 6.1 to 6.5.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, StepPatch
from matplotlib.quiver import Quiver
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from . import i18n
from .grids import (
    Lims,
    as_lims,
    curl_on_grid,
    density_on_grid,
    divergence_on_grid,
    field_on_grid,
    grid,
    histogram_density,
)
from .i18n import t as _t
from .i18n import term
from .ot import W2Report
from .solvers import SolverRun

__all__ = [
    "draw_crossings",
    "PALETTE",
    "OKABE_ITO",
    "FONT",
    "DIVERGING",
    "SEQUENTIAL",
    "style",
    "new_figure",
    "as_lims",
    "grid",
    "set_limits",
    "label_axes",
    "draw_samples",
    "update_samples",
    "draw_field",
    "update_field",
    "draw_streamlines",
    "draw_trajectories",
    "trajectory_segments",
    "draw_density",
    "update_density",
    "density_on_grid",
    "histogram_density",
    "draw_divergence",
    "draw_curl",
    "divergence_on_grid",
    "curl_on_grid",
    "draw_signed",
    "update_signed",
    "symmetric_ticks",
    "draw_segments",
    "draw_plan",
    "draw_plan_matrix",
    "draw_circle",
    "format_metrics",
    "draw_metrics",
    "draw_series",
    "sample_panels",
    "draw_time_marker",
    "move_time_marker",
    "draw_histogram",
    "draw_error_vs_nfe",
    "draw_marker",
    "png_bytes",
    "categorical_cmap",
    "presentation",
    "draw_image_grid",
    "image_canvas",
    "update_image_grid",
]

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
# Class / series order: strong colours first, yellow (weak on white) last.
PALETTE = tuple(
    OKABE_ITO[k]
    for k in ("blue", "orange", "green", "vermillion", "purple", "sky_blue", "black", "yellow")
)
FONT = {"title": 13, "label": 12, "tick": 11, "text": 11, "legend": 10}
DIVERGING = "RdBu_r"  # ColorBrewer's red-blue: readable with red-green colour blindness; white at 0
SEQUENTIAL = "viridis"
GREY = "#999999"


def _font_rc() -> dict:
    """rcParams for the house font sizes in ``FONT`` (projector mode scales ``FONT``)."""
    return {
        "font.size": FONT["text"],
        "axes.titlesize": FONT["title"],
        "axes.labelsize": FONT["label"],
        "xtick.labelsize": FONT["tick"],
        "ytick.labelsize": FONT["tick"],
        "legend.fontsize": FONT["legend"],
    }


RC = {**_font_rc(), "figure.dpi": 90, "savefig.dpi": 90}


def style() -> mpl.rc_context:
    """``with fm.plotting.style(): ...``: the house font sizes for pyplot code, without global changes."""
    return mpl.rc_context(RC)


def _to_numpy(a: Tensor | np.ndarray) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, Tensor) else np.asarray(a)


def new_figure(
    ncols: int = 1,
    nrows: int = 1,
    size: tuple[float, float] | None = None,
    dpi: int = 90,
    **subplot_kw,
) -> tuple[Figure, Axes | np.ndarray]:
    """A Figure on an Agg canvas and its axes (like ``plt.subplots``, but unknown to pyplot).

    ``size`` defaults to 4.2 x 3.8 inches per panel. Returns ``(fig, axes)`` with ``axes`` a
    single Axes for one panel and an array otherwise. Constrained layout is on; a widget may
    freeze it after the first draw (``fig.set_layout_engine("none")``) to draw faster.
    """
    for name, value in (("ncols", ncols), ("nrows", nrows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    size = size if size is not None else (4.2 * ncols, 3.8 * nrows)
    with mpl.rc_context(RC):
        fig = Figure(figsize=size, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    for ax in axes.flat:
        ax.tick_params(labelsize=FONT["tick"])
    return fig, (axes[0, 0] if axes.size == 1 else axes.squeeze())


def png_bytes(fig: Figure, compress_level: int = 1, draw: bool = True) -> bytes:
    """Draw ``fig`` on its Agg canvas (unless ``draw=False``) and encode it as PNG, fast zlib level."""
    import io

    from PIL import Image

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    if draw:
        canvas.draw()
    buf = canvas.buffer_rgba()
    out = io.BytesIO()
    Image.frombuffer("RGBA", (buf.shape[1], buf.shape[0]), buf, "raw", "RGBA", 0, 1).save(
        out, format="png", compress_level=compress_level
    )
    return out.getvalue()


def set_limits(ax: Axes, lims: Lims, equal: bool = True) -> None:
    """Fix the view to ``lims`` (square aspect by default) so animated frames do not rescale."""
    (x0, x1), (y0, y1) = as_lims(lims)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if equal:
        ax.set_aspect("equal", adjustable="box")


def _title(ax: Axes, title: str | None) -> None:
    if title is not None:
        ax.set_title(term(title), fontsize=FONT["title"])


def label_axes(
    ax: Axes, xlabel: str | None = None, ylabel: str | None = None, title: str | None = None
) -> Axes:
    """Axis labels and title in the house font sizes (None leaves one as it is)."""
    if xlabel is not None:
        ax.set_xlabel(term(xlabel), fontsize=FONT["label"])
    if ylabel is not None:
        ax.set_ylabel(term(ylabel), fontsize=FONT["label"])
    _title(ax, title)
    return ax


def draw_samples(
    ax: Axes,
    x: Tensor,
    labels: Tensor | None = None,
    *,
    values: Tensor | None = None,
    cmap: str = SEQUENTIAL,
    vmin: float | None = None,
    vmax: float | None = None,
    color: str | None = None,
    size: float = 8.0,
    alpha: float = 0.75,
    label: str | None = None,
    title: str | None = None,
) -> PathCollection:
    """Scatter points x: (B, 2), coloured by class ``labels`` (palette), by ``values`` (colormap) or one colour.

    Update in place with ``update_samples``. Section 6.1.4 (samples x_0 ~ p_0, x_1 ~ p_1).
    """
    pts = _to_numpy(x)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"x must be (B, 2) points to draw; got shape {pts.shape}")
    kw = dict(s=size, alpha=alpha, linewidths=0, label=None if label is None else term(label))
    if values is not None:
        sc = ax.scatter(
            pts[:, 0], pts[:, 1], c=_to_numpy(values), cmap=cmap, vmin=vmin, vmax=vmax, **kw
        )
    elif labels is not None:
        lab = _to_numpy(labels).astype(int)
        colours = np.array(PALETTE)[lab % len(PALETTE)]
        sc = ax.scatter(pts[:, 0], pts[:, 1], c=colours, **kw)
    else:
        sc = ax.scatter(pts[:, 0], pts[:, 1], color=color or PALETTE[0], **kw)
    _title(ax, title)
    return sc


def update_samples(sc: PathCollection, x: Tensor, values: Tensor | None = None) -> PathCollection:
    """Move the points of ``draw_samples`` to x: (B, 2) (and recolour by ``values``), in place."""
    sc.set_offsets(_to_numpy(x))
    if values is not None:
        sc.set_array(_to_numpy(values))
    return sc


def draw_field(
    ax: Axes,
    v: Callable,
    t: float,
    lims: Lims,
    n: int = 20,
    color: str = GREY,
    scale: float | None = None,
    title: str | None = None,
    scale_times: Sequence[float] = (),
) -> Quiver:
    """Quiver of v(x, t) on an n x n grid over ``lims``; update with ``update_field``. Section 6.1.1.

    The arrow scale is fixed once (longest arrow about 1.4 grid cells, at t and at the
    ``scale_times`` an animation will visit) so that later frames show the field growing or
    shrinking instead of being re-normalised, and never overflowing.
    """
    if not callable(v):
        raise TypeError(f"v must be a vector field v(x, t); got {type(v).__name__}")
    points = grid(lims, n)
    uv = field_on_grid(v, points, t)
    if scale is None:
        (x0, x1), _ = as_lims(lims)
        cell = (x1 - x0) / max(n - 1, 1)
        arrows = [uv, *(field_on_grid(v, points, s) for s in scale_times)]
        longest = max(
            float(np.nanmax(np.linalg.norm(a, axis=1))) if len(a) else 0.0 for a in arrows
        )
        scale = longest / (1.4 * cell) if longest > 0 else 1.0
    p = points.numpy()
    q = ax.quiver(
        p[:, 0],
        p[:, 1],
        uv[:, 0],
        uv[:, 1],
        color=color,
        angles="xy",
        scale_units="xy",
        scale=scale,
        width=0.004,
        zorder=1,
    )
    set_limits(ax, lims)
    _title(ax, title)
    return q


def update_field(quiver: Quiver, v: Callable, t: float) -> Quiver:
    """Re-evaluate v(x, t) at the quiver's arrow tails and ``set_UVC`` in place. Section 6.1.1."""
    points = torch.from_numpy(np.column_stack([quiver.X, quiver.Y]).astype(np.float32))
    uv = field_on_grid(v, points, t)
    quiver.set_UVC(uv[:, 0], uv[:, 1])
    return quiver


def draw_streamlines(
    ax: Axes,
    v: Callable,
    t: float,
    lims: Lims,
    n: int = 40,
    density: float = 1.0,
    color: str = GREY,
):
    """Streamlines of the frozen field v(., t) (static; redraw to change t). Section 6.1.1."""
    points = grid(lims, n)
    uv = field_on_grid(v, points, t).reshape(n, n, 2)
    p = points.numpy().reshape(n, n, 2)
    out = ax.streamplot(
        p[..., 0], p[..., 1], uv[..., 0], uv[..., 1], density=density, color=color, linewidth=0.8
    )
    set_limits(ax, lims)
    return out


def trajectory_segments(xs: Tensor, max_lines: int | None = None) -> np.ndarray:
    """(L, K, 2) polylines, one per particle, from a trajectory xs: (K, B, 2)."""
    a = _to_numpy(xs)
    if a.ndim != 3 or a.shape[2] != 2:
        raise ValueError(f"xs must be a trajectory (K, B, 2); got shape {a.shape}")
    return np.transpose(a[:, :max_lines], (1, 0, 2))


def draw_trajectories(
    ax: Axes,
    xs: Tensor,
    max_lines: int = 200,
    color: str = PALETTE[0],
    alpha: float = 0.35,
    linewidth: float = 0.8,
) -> LineCollection:
    """Particle paths from xs: (K, B, 2), at most ``max_lines`` of them, as one LineCollection. Section 6.5.2."""
    lc = LineCollection(
        trajectory_segments(xs, max_lines),
        colors=color,
        alpha=alpha,
        linewidths=linewidth,
        zorder=2,
    )
    ax.add_collection(lc)
    return lc


def draw_segments(
    ax: Axes,
    x_0: Tensor,
    x_1: Tensor,
    max_lines: int = 200,
    color: str = GREY,
    alpha: float = 0.4,
    linewidth: float = 0.7,
) -> LineCollection:
    """Straight conditional paths x_0 -> x_1 (B pairs, at most ``max_lines``) as a LineCollection. Section 6.1.4."""
    a, b = _to_numpy(x_0), _to_numpy(x_1)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"x_0 and x_1 must both be (B, 2); got {a.shape} and {b.shape}")
    segs = np.stack([a[:max_lines], b[:max_lines]], axis=1)  # (L, 2, 2)
    lc = LineCollection(segs, colors=color, alpha=alpha, linewidths=linewidth, zorder=1)
    ax.add_collection(lc)
    return lc


def draw_density(
    ax: Axes,
    values: np.ndarray | Tensor | Callable,
    lims: Lims,
    n: int = 60,
    cmap: str = SEQUENTIAL,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    title: str | None = None,
) -> AxesImage:
    """A density image over ``lims``: ``values`` (H, W) (rows = y) or a log-density fn log_p(x) -> (B,).

    Update in place with ``image.set_data(new)`` (and ``set_clim``). Section 6.1.1, p_t.
    """
    img = density_on_grid(values, lims, n) if callable(values) else _to_numpy(values)
    if img.ndim != 2:
        raise ValueError(
            f"density values must be an (H, W) image or a log-density function; got shape {img.shape}"
        )
    (x0, x1), (y0, y1) = as_lims(lims)
    vmax = vmax if vmax is not None else float(np.nanmax(img)) or 1.0
    im = ax.imshow(
        img,
        origin="lower",
        extent=(x0, x1, y0, y1),
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        aspect="equal",
    )
    set_limits(ax, lims)
    _title(ax, title)
    return im


def update_density(im: AxesImage, values: np.ndarray | Tensor) -> AxesImage:
    """New values for a ``draw_density`` image, its colour scale 0 ... max of the new values."""
    img = _to_numpy(values)
    im.set_data(img)
    im.set_clim(0.0, max(float(np.nanmax(img)), 1e-12))
    return im


def draw_signed(
    ax: Axes,
    values: np.ndarray | Tensor,
    lims: Lims,
    cmap: str = DIVERGING,
    vmax: float | None = None,
    colorbar: bool = True,
    title: str | None = None,
) -> AxesImage:
    """An (H, W) signed heatmap on a colour scale symmetric about 0 (white = 0). Section 6.1.1.

    The scale is +-vmax (default: the largest |value|), so equal colours mean equal sizes on
    both sides of 0; the colour bar always has a tick at 0.
    """
    img = _to_numpy(values)
    vmax = vmax if vmax is not None else float(np.nanmax(np.abs(img))) or 1.0
    (x0, x1), (y0, y1) = as_lims(lims)
    im = ax.imshow(
        img,
        origin="lower",
        extent=(x0, x1, y0, y1),
        cmap=cmap,
        norm=Normalize(-vmax, vmax),
        interpolation="bilinear",
        aspect="equal",
        zorder=0,
    )
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax, shrink=0.85)
        cb.set_ticks(symmetric_ticks(vmax))
        cb.ax.tick_params(labelsize=FONT["tick"])
    set_limits(ax, lims)
    _title(ax, title)
    return im


def symmetric_ticks(vmax: float, count: int = 3) -> np.ndarray:
    """Ticks -m ... 0 ... +m for a scale +-vmax: 0 and ``count`` round values on each side."""
    step = MaxNLocator(count, steps=[1, 2, 2.5, 5, 10]).tick_values(0.0, vmax)[1]
    side = np.arange(step, vmax * (1 + 1e-9), step)
    return np.concatenate([-side[::-1], [0.0], side])


def update_signed(im: AxesImage, values: np.ndarray | Tensor) -> AxesImage:
    """New values for a ``draw_signed`` image; the colour scale (centred at 0) is kept."""
    im.set_data(_to_numpy(values))
    return im


def draw_divergence(
    ax: Axes, v: Callable | np.ndarray, t: float, lims: Lims, n: int = 80, **kw
) -> AxesImage:
    """Heatmap of div v(., t): red where mass spreads out, blue where it piles up. Section 6.1.1."""
    values = divergence_on_grid(v, t, lims, n) if callable(v) else v
    return draw_signed(
        ax, values, lims, title=kw.pop("title", _t("div v at t = {t:.2f}", t=t)), **kw
    )


def draw_curl(
    ax: Axes, v: Callable | np.ndarray, t: float, lims: Lims, n: int = 80, **kw
) -> AxesImage:
    """Heatmap of the scalar curl of v(., t): red counter-clockwise, blue clockwise. Section 6.1.1."""
    values = curl_on_grid(v, t, lims, n) if callable(v) else v
    return draw_signed(
        ax, values, lims, title=kw.pop("title", _t("curl v at t = {t:.2f}", t=t)), **kw
    )


def draw_circle(
    ax: Axes, radius: float, color: str = OKABE_ITO["black"], linestyle: str = "--"
) -> Circle:
    """The circle |x| = radius (e.g. the source/sink boundary of Section 6.1.1)."""
    c = Circle(
        (0.0, 0.0),
        radius,
        fill=False,
        edgecolor=color,
        linestyle=linestyle,
        linewidth=1.2,
        zorder=3,
    )
    ax.add_patch(c)
    return c


def _format_value(value: object) -> str:
    if isinstance(value, W2Report):
        return _t(
            "{w2:.3f}  ({ratio:.2f} x noise floor {floor:.3f})",
            w2=value.w2,
            ratio=value.ratio,
            floor=value.floor,
        )
    if isinstance(value, bool) or isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)) or (
        isinstance(value, Tensor) and value.numel() == 1
    ):
        f = float(value)
        return "inf" if np.isinf(f) else f"{f:.4g}"
    return str(value)


def format_metrics(metrics: Mapping[str, object]) -> str:
    """One ``name = value`` line per metric; a ``W2Report`` reads as W2 with its noise-floor ratio. Section 6.2.1."""
    return "\n".join(f"{term(k)} = {_format_value(v)}" for k, v in metrics.items())


def draw_metrics(
    ax: Axes, metrics: Mapping[str, object], loc: str = "upper left", boxed: bool = True
) -> Text:
    """A text panel of metrics (W2 vs the noise floor, NFE, kinetic energy, straightness). Section 6.2.

    Update in place with ``text.set_text(format_metrics(new))``.
    """
    x, ha = (0.03, "left") if "left" in loc else (0.97, "right")
    y, va = (0.97, "top") if "upper" in loc else (0.03, "bottom")
    box = (
        dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor=GREY, alpha=0.85)
        if boxed
        else None
    )
    return ax.text(
        x,
        y,
        format_metrics(metrics),
        transform=ax.transAxes,
        ha=ha,
        va=va,
        fontsize=FONT["text"],
        family="monospace",
        bbox=box,
        zorder=5,
    )


def draw_series(
    ax: Axes,
    x: Sequence[float] | Tensor,
    series: Mapping[str, Sequence[float] | Tensor],
    xlabel: str = "t",
    ylabel: str | None = None,
    title: str | None = None,
    legend_loc: str = "upper left",
    scale: str = "linear",
    markers: bool = False,
) -> list[Line2D]:
    """Line plot of several named series against x, palette colours, with a legend.

    ``scale``: ``"linear"``, ``"logy"`` or ``"loglog"`` (costs and errors against n or d);
    ``markers`` puts a dot on every measured point.
    """
    if scale not in ("linear", "logy", "loglog"):
        raise ValueError(f"scale must be 'linear', 'logy' or 'loglog'; got {scale!r}")
    xv = _to_numpy(x)
    style = "o-" if markers else "-"
    lines = [
        ax.plot(xv, _to_numpy(y), style, color=PALETTE[i % len(PALETTE)], label=term(name), lw=1.8)[
            0
        ]
        for i, (name, y) in enumerate(series.items())
    ]
    if scale != "linear":
        ax.set_yscale("log")
    if scale == "loglog":
        ax.set_xscale("log")
    ax.set_xlabel(term(xlabel), fontsize=FONT["label"])
    if ylabel:
        ax.set_ylabel(term(ylabel), fontsize=FONT["label"])
    ax.legend(fontsize=FONT["legend"], frameon=False, loc=legend_loc)
    _title(ax, title)
    return lines


def sample_panels(
    samples: Mapping[str, Tensor],
    lims: Lims = 3.2,
    size: tuple[float, float] = (4.0, 3.8),
    **style,
) -> Figure:
    """One panel per named point set (B, 2), titled by its name, all on the same ``lims``.

    ``style`` goes to ``draw_samples`` (``size=``, ``alpha=``, ``color=``...). A notebook cell
    ending with ``fm.plotting.sample_panels({"data": x_1, "model": x_gen})`` shows the figure.
    """
    if not isinstance(samples, Mapping) or not samples:
        raise TypeError("samples must be a non-empty mapping name -> points (B, 2)")
    n = len(samples)
    fig, axes = new_figure(n, size=(size[0] * n, size[1]))
    for ax, (name, x) in zip(np.atleast_1d(axes), samples.items(), strict=True):
        draw_samples(ax, x, title=name, **{"size": 4.0, "alpha": 0.6, **style})
        set_limits(ax, lims)
    return fig


def draw_time_marker(ax: Axes, t: float, color: str = OKABE_ITO["black"]) -> Line2D:
    """A vertical line at t; move it with ``move_time_marker``."""
    return ax.axvline(t, color=color, linewidth=1.2, linestyle=":", zorder=4)


def move_time_marker(marker: Line2D, t: float) -> Line2D:
    """Move a ``draw_time_marker`` line to t, in place."""
    marker.set_xdata([t, t])
    return marker


def draw_error_vs_nfe(ax: Axes, runs: Sequence[SolverRun]) -> list[Line2D]:
    """Error against NFE on log-log axes: a line per fixed-step method, dopri5 as a square. Section 6.5.2.

    ``runs`` come from ``solvers.error_vs_nfe``.
    """
    lines = []
    methods = list(dict.fromkeys(r.method for r in runs))
    for i, method in enumerate(m for m in methods if m != "dopri5"):
        mine = [r for r in runs if r.method == method]
        nfe, err = [r.nfe for r in mine], [max(r.rms_error, 1e-12) for r in mine]
        style = dict(color=PALETTE[i % len(PALETTE)], markersize=3, linewidth=1.5)
        lines += ax.loglog(nfe, err, "o-", label=method, **style)
    for r in (r for r in runs if r.method == "dopri5"):
        style = dict(color=OKABE_ITO["black"], label="dopri5")
        lines += ax.loglog([r.nfe], [max(r.rms_error, 1e-12)], "s", **style)
    if lines:
        ax.legend(fontsize=FONT["legend"], frameon=False)
    ax.set_xlabel("NFE", fontsize=FONT["label"])
    ax.set_ylabel(_t("RMS error at t = 1"), fontsize=FONT["label"])
    ax.set_title(_t("error vs cost"), fontsize=FONT["title"])
    return lines


def draw_marker(ax: Axes, color: str = OKABE_ITO["vermillion"]) -> Line2D:
    """An empty ring marking one point (``marker.set_data([x], [y])`` puts it there)."""
    style = dict(markersize=12, markerfacecolor="none", markeredgewidth=2)
    return ax.plot([], [], "o", markeredgecolor=color, **style)[0]


def draw_histogram(
    ax: Axes,
    values: Sequence[float] | Tensor,
    edges: Sequence[float] | np.ndarray,
    color: str = PALETTE[0],
    density: bool = True,
    label: str | None = None,
) -> StepPatch:
    """A filled step histogram on fixed bin ``edges``; update with ``patch.set_data(values=...)``. Section 6.1.2."""
    edges = np.asarray(edges, dtype=float)
    counts, _ = np.histogram(_to_numpy(values), bins=edges, density=density)
    return ax.stairs(counts, edges, fill=True, color=color, alpha=0.6, label=label)


def categorical_cmap(n: int) -> ListedColormap:
    """The first n palette colours as a colormap (class index -> colour)."""
    return ListedColormap(list(PALETTE[:n]))


# Projector mode: what changes, by how much. Sizes in points grow; figure sizes stay, so a figure
# keeps fitting the screen and its text and lines take a larger share of it.
PROJECTOR_SCALE = 1.5
_PROJECTOR_RC = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
                 "ytick.labelsize", "legend.fontsize", "lines.linewidth", "lines.markersize",
                 "axes.linewidth", "axes.prop_cycle")  # fmt: skip
_saved: dict | None = None


def presentation(on: bool = True, scale: float = PROJECTOR_SCALE) -> None:
    """Projector mode: every figure and explorer made afterwards is readable from the back of a room.

    ``fm.plotting.presentation()`` scales font sizes, default line widths and marker sizes by ``scale``
    (fmlib's own figures and explorers, and pyplot figures through ``rcParams``) and keeps the
    colour-blind-safe palette; ``fm.plotting.presentation(False)`` restores exactly what was there.
    Explorers already on screen keep their look: build them again after switching. It is a
    global switch on purpose (a whole lecture's notebooks): the only place fmlib writes to
    ``matplotlib.rcParams``, and only the keys in ``_PROJECTOR_RC``.
    """
    global _saved
    if not isinstance(on, bool):
        raise TypeError(f"on must be True or False; got {on!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 1 <= scale <= 4:
        raise ValueError(f"scale must be a number in [1, 4]; got {scale!r}")
    if _saved is not None:  # switching again starts from the saved defaults, never compounds
        FONT.update(_saved["FONT"])
        RC.clear()
        RC.update(_saved["RC"])
        mpl.rcParams.update(_saved["rcParams"])
        _saved = None
    if not on:
        return
    _saved = {
        "FONT": dict(FONT),
        "RC": dict(RC),
        "rcParams": {k: mpl.rcParams[k] for k in _PROJECTOR_RC},
    }
    for key in FONT:
        FONT[key] = round(FONT[key] * scale)
    font_rc = _font_rc()
    lines_rc = {
        "lines.linewidth": mpl.rcParams["lines.linewidth"] * scale,
        "lines.markersize": mpl.rcParams["lines.markersize"] * scale,
        "axes.linewidth": mpl.rcParams["axes.linewidth"] * scale,
    }
    RC.update(font_rc | lines_rc)
    mpl.rcParams.update(font_rc | lines_rc)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=list(PALETTE))


def panel_grid(
    rows: Mapping[str, Sequence[Tensor | np.ndarray]],
    lims: Lims,
    titles: Sequence[str] | None = None,
    size: tuple[float, float] = (2.5, 2.6),
    point_size: float = 3.0,
) -> Figure:
    """A grid of panels on common ``lims``: one row per name, one column per entry. Section 6.3.1.

    An entry that is a torch tensor (B, 2) is drawn as points (``draw_samples``), a numpy array
    (H, W) as a density image (``draw_density``, rows = y); the row's name labels its first panel,
    ``titles`` the columns (the top row).
    """
    if not isinstance(rows, Mapping) or not rows:
        raise TypeError("rows must be a non-empty mapping name -> list of panels")
    ncols = {len(v) for v in rows.values()}
    if len(ncols) != 1 or (titles is not None and len(titles) != next(iter(ncols))):
        raise ValueError("every row, and titles, must have the same number of panels")
    nrows, ncols = len(rows), ncols.pop()
    fig, axes = new_figure(ncols, nrows, size=(size[0] * ncols, size[1] * nrows))
    axes = np.asarray(axes).reshape(nrows, ncols)
    for i, (name, panels) in enumerate(rows.items()):
        for j, item in enumerate(panels):
            ax = axes[i, j]
            if isinstance(item, Tensor):
                draw_samples(ax, item, size=point_size, alpha=0.5)
                set_limits(ax, lims)
            else:
                draw_density(ax, item, lims)
            if i == 0 and titles is not None:
                _title(ax, titles[j])
        label_axes(axes[i, 0], ylabel=name)  # label_axes translates a known name (i18n.term)
    return fig


def error_map_panels(
    v: Callable,
    target,
    times: Sequence[float],
    lims: float = 2.5,
    n: int = 60,
    level: float = 0.01,
) -> tuple[Figure, list[dict]]:
    """Heat maps of |v(x, t) - u_t(x)| for a model v against an exact ``target``, one per t. Section 6.3.3.

    ``target`` has ``velocity`` and ``log_prob`` (``fmlib.analytic``). Each panel shows the error
    on the n x n grid, a white contour where p_t falls to ``level`` of its peak and a red cross at
    the largest error inside it; the colour scale stops there, so the empty corners saturate.
    Returns the figure and, per t, ``{"t", "max", "at", "max inside", "at inside"}``.
    """
    points = grid(lims, n)
    fig, axes = new_figure(len(times), size=(4.0 * len(times), 4.0))
    found = []
    for ax, s in zip(np.atleast_1d(axes), times, strict=True):
        with torch.no_grad():
            err = (v(points, s) - target.velocity(points, s)).norm(dim=1)  # (n * n,)
        density = density_on_grid(lambda x, s=s: target.log_prob(x, s), lims, n)
        inside = torch.from_numpy(density.reshape(-1) > level * density.max())
        k_all, k_in = int(err.argmax()), int(torch.where(inside, err, -1.0).argmax())
        found.append(
            {"t": s, "max": err[k_all].item(), "at": tuple(round(c, 2) for c in points[k_all].tolist()),
             "max inside": err[k_in].item(), "at inside": tuple(round(c, 2) for c in points[k_in].tolist())}
        )  # fmt: skip
        image = draw_density(ax, err.reshape(n, n), lims, vmax=found[-1]["max inside"])
        fig.colorbar(image, ax=ax, shrink=0.8)
        (x0, x1), (y0, y1) = as_lims(lims)
        ax.contour(density, levels=[level * density.max()], extent=(x0, x1, y0, y1),
                   colors="white", linewidths=0.8)  # fmt: skip
        ax.scatter(*points[k_in].tolist(), marker="x", color="red", s=60, zorder=5)
        _title(ax, _t("|v_theta - u_t| at t = {t}", t=s))
    return fig, found


__all__ += ["panel_grid", "error_map_panels"]


def pair_panels(
    couplings: Mapping[str, object], max_lines: int = 80, size: tuple[float, float] = (5.0, 4.6)
) -> Figure:
    """One panel per named coupling: its first ``max_lines`` pairs x_0 -> x_1 as segments. Section 6.3.1.

    Each value has ``x_0`` and ``x_1`` (B, 2) (a ``couplings.CoupledBatch``); noise points grey, data
    points orange; the title gives E|x_1 - x_0|^2 over all pairs and the share of the drawn
    segments that cross (``ot.crossing_fraction``).
    """
    from .ot import crossing_fraction

    if not isinstance(couplings, Mapping) or not couplings:
        raise TypeError("couplings must be a non-empty mapping name -> CoupledBatch")
    fig, axes = new_figure(len(couplings), size=(size[0] * len(couplings), size[1]))
    for ax, (name, pairs) in zip(np.atleast_1d(axes), couplings.items(), strict=True):
        cost = (pairs.x_1 - pairs.x_0).pow(2).sum(1).mean().item()
        crossing = crossing_fraction(torch.stack([pairs.x_0[:max_lines], pairs.x_1[:max_lines]], 1))
        draw_segments(ax, pairs.x_0, pairs.x_1, max_lines=max_lines)
        draw_samples(ax, pairs.x_0[:max_lines], color=GREY, label="x_0")
        draw_samples(ax, pairs.x_1[:max_lines], color=OKABE_ITO["orange"], label="x_1")
        _title(
            ax,
            _t(
                "{name}\nE|x_1 - x_0|^2 = {cost:.2f}, {crossing:.0%} of pairs cross",
                name=term(name),
                cost=cost,
                crossing=crossing,
            ),
        )
    np.atleast_1d(axes)[0].legend(loc="lower left", fontsize=FONT["legend"])
    return fig


__all__ += ["pair_panels"]


def draw_plan(
    ax: Axes, x: Tensor, y: Tensor, plan: np.ndarray | Tensor, width: float = 6.0
) -> LineCollection:
    """A transport plan as lines x_i -> y_j as wide as the mass pi_ij they carry. Section 6.2.1.

    ``plan``: (N, M) with the masses; a line carrying the mass 1/N (a whole source point) is
    ``width`` points wide. The source points are drawn black, the targets orange, both labelled.
    """
    a, b, pi = _to_numpy(x), _to_numpy(y), _to_numpy(plan)
    if pi.shape != (len(a), len(b)):
        raise ValueError(f"plan must be (N, M) = ({len(a)}, {len(b)}); got {pi.shape}")
    i, j = np.nonzero(pi > 1e-12)
    segs = np.stack([a[i], b[j]], axis=1)  # (L, 2, 2)
    lc = LineCollection(segs, colors=GREY, alpha=0.6, linewidths=width * pi[i, j] * len(a))
    ax.add_collection(lc)
    draw_samples(ax, torch.as_tensor(a), color=OKABE_ITO["black"], size=50, label=_t("x (source)"))
    draw_samples(ax, torch.as_tensor(b), color=OKABE_ITO["orange"], size=50, label=_t("y (target)"))
    ax.set_aspect("equal", adjustable="datalim")
    return lc


def draw_plan_matrix(ax: Axes, plan: np.ndarray | Tensor, fmt: str = ".2f") -> AxesImage:
    """A transport plan as a matrix image, each entry written in its cell. Section 6.2.1."""
    pi = _to_numpy(plan)
    im = ax.imshow(pi, cmap="Blues", vmin=0)
    ax.set(
        xlabel=_t("target j"),
        ylabel=_t("source i"),
        xticks=range(pi.shape[1]),
        yticks=range(pi.shape[0]),
    )
    for i, j in np.ndindex(*pi.shape):
        colour = "white" if pi[i, j] > 0.5 * pi.max() else "black"  # readable on dark cells
        ax.text(
            j,
            i,
            format(pi[i, j], fmt),
            ha="center",
            va="center",
            color=colour,
            fontsize=FONT["tick"],
        )
    return im


def draw_crossings(
    ax: Axes,
    xs: Tensor,
    inside: Callable[[Tensor], Tensor],
    lims: float = 2.6,
    max_lines: int = 200,
    n_grid: int = 200,
    title: str | None = None,
) -> int:
    """Particle paths xs: (K, B, 2) over a region shaded grey, vermillion where they enter it. Section 6.5.1.

    ``inside`` maps (N, 2) points to (N,) bools (e.g. ``fmlib.data.moons_gap``). The first
    ``max_lines`` paths are drawn, grey when they avoid the region, vermillion when they pass
    through it at one of the saved times, with their end points in blue. Returns how many of the
    drawn paths cross; with ``title`` the panel is titled "<title>: <n> of <max_lines> cross".
    """
    xs = torch.as_tensor(xs)[:, :max_lines]
    if xs.ndim != 3 or xs.shape[2] != 2:
        raise ValueError(f"xs must be a trajectory (K, B, 2); got shape {tuple(xs.shape)}")
    axis = torch.linspace(-lims, lims, n_grid)
    pts = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1).reshape(-1, 2)
    image = inside(pts).reshape(n_grid, n_grid).float()
    draw_density(ax, image, lims=lims, cmap="Greys", vmax=4.0)
    crosses = inside(xs.reshape(-1, 2)).reshape(xs.shape[:2]).any(dim=0)
    draw_trajectories(ax, xs[:, ~crosses], max_lines=None, color=GREY, alpha=0.4)
    red = OKABE_ITO["vermillion"]
    draw_trajectories(ax, xs[:, crosses], max_lines=None, color=red, alpha=0.7)
    draw_samples(ax, xs[-1], color=OKABE_ITO["blue"], size=6)
    count = int(crosses.sum())
    if title is not None:
        ax.set_title(
            _t("{title}: {count} of {n} cross", title=term(title), count=count, n=xs.shape[1]),
            fontsize=FONT["text"],
        )
    return count


def image_canvas(images: Tensor | np.ndarray) -> np.ndarray:
    """Small images (rows, cols, h, w) tiled into one array, with a one-pixel gutter of zeros."""
    a = _to_numpy(images).astype(float)
    if a.ndim != 4:
        raise ValueError(f"images must have shape (rows, cols, h, w); got {a.shape}")
    rows, cols, h, w = a.shape
    canvas = np.zeros((rows * (h + 1) + 1, cols * (w + 1) + 1))
    for i in range(rows):
        for j in range(cols):
            canvas[1 + i * (h + 1) : (i + 1) * (h + 1), 1 + j * (w + 1) : (j + 1) * (w + 1)] = a[
                i, j
            ]
    return canvas


def draw_image_grid(
    ax: Axes,
    images: Tensor | np.ndarray,
    vmax: float = 16.0,
    row_labels: Sequence[str] | None = None,
    title: str | None = None,
) -> AxesImage:
    """Small grey images (rows, cols, h, w) tiled into one picture, ink dark on white. Section 6.6.

    Values are grey levels from 0 (white) to ``vmax`` (black), clipped, as scikit-learn's digits
    are stored; a one-pixel white gutter separates the tiles. ``row_labels`` name the rows.
    ``update_image_grid`` shows other images of the same shape in the same picture.
    """
    canvas = image_canvas(images)
    rows, _, h, _ = np.shape(images)
    im = ax.imshow(np.clip(canvas, 0.0, vmax), cmap="gray_r", vmin=0.0, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([] if row_labels is None else [(h + 1) * (i + 0.5) for i in range(rows)])
    if row_labels is not None:
        if len(row_labels) != rows:
            raise ValueError(f"row_labels must name {rows} rows; got {len(row_labels)}")
        ax.set_yticklabels([term(r) for r in row_labels])
        ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    _title(ax, title)
    return im


def update_image_grid(im: AxesImage, images: Tensor | np.ndarray) -> AxesImage:
    """Show other images of the drawn shape in a picture made by ``draw_image_grid``."""
    canvas = image_canvas(images)
    if canvas.shape != im.get_array().shape:
        raise ValueError(
            f"images must tile to the drawn picture {im.get_array().shape}; got {canvas.shape}"
        )
    im.set_data(np.clip(canvas, *im.get_clim()))
    return im


i18n.apply_fonts()  # a CJK font when fm.configure(lang="zh") came before this import
