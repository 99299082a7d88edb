"""The explorers not yet moved onto scenes (being ported to one module per scene)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .. import fields as fm_fields
from .. import plotting as P
from .._checks import check_points, check_positive_int, check_same_shape
from ..couplings import ot_pairing
from ..likelihood import divergence_exact, divergence_hutchinson
from ..models import guided_field
from ..paths import CurvedPath, linear_path, vp_path
from ..solvers import FIXED_STEP, METHODS, solve
from .shell import DPI, Explorer, TimeAxis, time_controls
from .shell import check_field as _check_field
from .shell import ipywidgets as _ipywidgets

__all__ = [
    "flow_explorer",
    "path_comparison",
    "divergence_explorer",
    "solver_explorer",
    "hutchinson_explorer",
    "guidance_explorer",
    "conditional_energy",
    "crossing_fraction",
]


def _time_controls(steps: int, t: float = 0.0, interval_ms: int = 100):
    return time_controls(TimeAxis(steps, t, interval_ms))


def _index(t: float, count: int) -> int:
    """Index of the saved state nearest to t on a uniform grid of ``count`` times over [0, 1]."""
    return min(max(int(round(float(t) * (count - 1))), 0), count - 1)


def _default_lims(*xs: Tensor, margin: float = 1.15) -> float:
    """A square half-width holding 99 % of the points' coordinates, with a margin."""
    return float(max(x.detach().abs().float().quantile(0.99) for x in xs)) * margin


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
    _check_field(v)
    check_points(x_0, "x_0", dim=2)
    check_positive_int(steps, "steps")
    if density is not None and not callable(density):
        raise TypeError(
            f"density must be a log-density function density(x, t) -> (B,) or None; got {type(density).__name__}"
        )
    lims = P.as_lims(lims)
    with torch.no_grad():
        sol = solve(v, x_0, method=method, steps=steps, return_trajectory=True)
    xs = sol.xs.detach()  # (steps + 1, B, 2)

    fig, (ax_f, ax_d) = P.new_figure(2, size=(9.0, 4.2), dpi=DPI)
    quiver = P.draw_field(ax_f, v, 0.0, lims, n=n_grid)
    particles = P.draw_samples(ax_f, xs[0], size=5, alpha=0.6)
    title_f = ax_f.set_title("", fontsize=P.FONT["title"])

    def density_image(t: float, k: int) -> np.ndarray:
        if density is None:
            return P.histogram_density(xs[k], lims, bins)
        return P.density_on_grid(lambda x: density(x, t), lims, density_n)

    image = P.draw_density(ax_d, density_image(0.0, 0), lims)
    title_d = ax_d.set_title("", fontsize=P.FONT["title"])
    label_d = "p_t (exact)" if density is not None else "particle histogram"

    def render(state: dict) -> None:
        t = float(state["t"])
        k = _index(t, xs.shape[0])
        P.update_samples(particles, xs[k])
        P.update_field(quiver, v, t)
        img = density_image(t, k)
        image.set_data(img)
        image.set_clim(0.0, max(float(img.max()), 1e-12))
        title_f.set_text(f"v_t and particles, t = {t:.2f}")
        title_d.set_text(f"{label_d}, t = {t:.2f}")

    slider, play = _time_controls(steps, 0.0, interval_ms)
    dynamic = [quiver, particles, image, *ax_d.spines.values(), title_f, title_d]
    return Explorer(
        fig,
        render,
        {"t": slider},
        kind="flow-explorer",
        play=play,
        time_key="t",
        data={"xs": xs, "ts": sol.ts, "nfe": sol.nfe},
        dynamic=dynamic,
        artists={"field": quiver, "particles": particles, "density": image, "title": title_f},
    )


def conditional_energy(path, x_0: Tensor, x_1: Tensor, nodes: int = 64) -> float:
    """E int_0^1 ||u_t(x_t | x_0, x_1)||^2 dt by Gauss-Legendre quadrature. Section 6.2.2.

    Exact for the linear and curved paths (polynomial integrands). ``inf`` when u_t is
    infinite at t = 0 or t = 1: the VP path's sigma_t' grows like (1 - t)^(-1/2), so its
    energy diverges (logarithmically). An integrable end-point singularity would be flagged too.
    """
    with torch.no_grad():
        for end in (0.0, 1.0):
            if not bool(torch.isfinite(path.sample(x_0, x_1, end).u_t).all()):
                return math.inf
        z, w = np.polynomial.legendre.leggauss(nodes)
        total = 0.0
        for t, weight in zip((z + 1) / 2, w / 2, strict=True):
            total += weight * float(path.sample(x_0, x_1, float(t)).u_t.pow(2).sum(1).mean())
    return total


def crossing_fraction(curves: np.ndarray | Tensor) -> float:
    """Fraction of pairs of polylines (L, K, 2) that cross each other in the plane. Section 6.2.3.

    Straight conditional paths of an OT coupling rarely cross; independent pairs cross often.
    Proper crossings only (segments of the same polyline, and touching ends, are not counted).
    """
    c = curves.detach().cpu().numpy() if isinstance(curves, Tensor) else np.asarray(curves)
    n_lines, k = c.shape[:2]
    if n_lines < 2:
        return 0.0
    a, b = c[:, :-1].reshape(-1, 2), c[:, 1:].reshape(-1, 2)  # segments, (L*(K-1), 2)
    owner = np.repeat(np.arange(n_lines), k - 1)

    def orient(p, q, r):  # sign of the cross product (q - p) x (r - p), all pairwise
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (
            r[..., 0] - p[..., 0]
        )

    crossed = np.zeros((n_lines, n_lines), dtype=bool)
    chunk = max(1, 2_000_000 // len(a))
    for s in range(0, len(a), chunk):
        p, q = a[s : s + chunk, None], b[s : s + chunk, None]  # (C, 1, 2)
        d1, d2 = orient(p, q, a[None]), orient(p, q, b[None])  # (C, N)
        d3, d4 = orient(a[None], b[None], p), orient(a[None], b[None], q)
        hit = (d1 * d2 < 0) & (d3 * d4 < 0)
        rows, cols = np.nonzero(hit)
        crossed[owner[s + rows], owner[cols]] = True
    np.fill_diagonal(crossed, False)
    crossed |= crossed.T
    return float(crossed[np.triu_indices(n_lines, 1)].mean())


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

    Each panel shows the conditional paths of the first ``max_lines`` pairs (straight segments
    for the linear and OT-coupled paths), the points x_t at the slider's t, and two numbers:
    the kinetic energy E int ||u_t||^2 dt of the conditional paths (quadrature, all pairs) and
    the fraction of drawn paths that cross. x_0, x_1: (B, 2); ``a`` bends the curved path.
    """
    check_points(x_0, "x_0", dim=2)
    check_points(x_1, "x_1", dim=2)
    check_same_shape(x_0, x_1)
    check_positive_int(frames, "frames")
    lims = P.as_lims(lims if lims is not None else _default_lims(x_0, x_1))
    x_0_ot = ot_pairing(x_0, x_1).x_0
    panels = [
        ("linear", linear_path(), x_0),
        ("OT-coupled", linear_path(), x_0_ot),
        ("VP diffusion", vp_path(), x_0),
        ("curved", CurvedPath(a), x_0),
    ]
    ts = torch.linspace(0, 1, 25)
    fig, axes = P.new_figure(4, size=(11.0, 3.9), dpi=DPI)
    movers, metrics = [], {}
    with torch.no_grad():
        for ax, (name, path, src) in zip(axes, panels, strict=True):
            a0, a1 = src[:max_lines], x_1[:max_lines]
            curves = torch.stack([path.sample(a0, a1, float(s)).x_t for s in ts])  # (25, L, 2)
            P.draw_trajectories(ax, curves, max_lines, color=P.GREY, alpha=0.5)
            P.draw_samples(ax, a0, color=P.OKABE_ITO["black"], size=5, alpha=0.35)
            P.draw_samples(ax, a1, color=P.OKABE_ITO["orange"], size=5, alpha=0.6)
            x_t = P.draw_samples(
                ax, path.sample(a0, a1, t).x_t, color=P.OKABE_ITO["blue"], size=14, alpha=0.9
            )
            P.set_limits(ax, lims)
            energy = conditional_energy(path, src, x_1)
            crossing = crossing_fraction(curves.transpose(0, 1))
            metrics[name] = {"energy": energy, "crossing": crossing}
            energy_s = "∞" if math.isinf(energy) else f"{energy:.2f}"
            ax.set_title(
                f"{name}\nenergy {energy_s}, crossing {crossing:.0%}", fontsize=P.FONT["text"]
            )
            ax.tick_params(labelleft=ax is axes[0])
            movers.append((path, a0, a1, x_t))
    suptitle = fig.suptitle("", fontsize=P.FONT["title"])

    def render(state: dict) -> None:
        t = float(state["t"])
        with torch.no_grad():
            for path, a0, a1, scatter in movers:
                P.update_samples(scatter, path.sample(a0, a1, t).x_t)
        suptitle.set_text(f"conditional paths x_0 → x_1 and x_t at t = {t:.2f}")

    slider, play = _time_controls(frames, t, interval_ms)
    dynamic = [scatter for *_, scatter in movers] + [suptitle]
    return Explorer(
        fig,
        render,
        {"t": slider},
        kind="path-comparison",
        play=play,
        time_key="t",
        data={"metrics": metrics, "x_0_ot": x_0_ot},
        dynamic=dynamic,
        artists={
            **{name: m[-1] for (name, *_), m in zip(panels, movers, strict=True)},
            "title": suptitle,
        },
    )


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

    n particles x_0 ~ N(0, source_std^2 I) follow v = ``field`` (default: ``source_sink()``)
    while the augmented ODE d log p_t(x_t)/dt = -div v(x_t, t) (the instantaneous change of
    variables) is solved alongside, with the closed-form divergence when the field has one.
    Left: div v heatmap and arrows; middle: particles coloured by their exact log p_t(x_t);
    right: the mean density p_t(x_t) of particles inside vs outside |x| = radius over t.
    """
    field = fm_fields.source_sink() if field is None else field
    _check_field(field, "field")
    check_positive_int(n, "n")
    check_positive_int(steps, "steps")
    lims = P.as_lims(lims)
    radius = float(radius if radius is not None else getattr(field, "radius", 1.0))
    gen = torch.Generator().manual_seed(seed)
    x_0 = source_std * torch.randn(n, 2, generator=gen)
    log_p_0 = -0.5 * x_0.pow(2).sum(1) / source_std**2 - math.log(2 * math.pi * source_std**2)

    def augmented(z: Tensor, t: float) -> Tensor:
        x = z[:, :2]
        return torch.cat([field(x, t), -fm_fields.field_divergence(field, x, t)[:, None]], dim=1)

    with torch.no_grad():
        sol = solve(
            augmented,
            torch.cat([x_0, torch.zeros(n, 1)], dim=1),
            method="rk4",
            steps=steps,
            return_trajectory=True,
        )
    xs = sol.xs[..., :2].detach()  # (K, n, 2)
    log_p = (log_p_0[None] + sol.xs[..., 2]).detach()  # (K, n): exact log p_t(x_t) along each path
    inside = xs.norm(dim=2) < radius
    dens = log_p.exp()
    mean_in = torch.where(inside, dens, 0).sum(1) / inside.sum(1).clamp_min(1)
    mean_out = torch.where(~inside, dens, 0).sum(1) / (~inside).sum(1).clamp_min(1)

    fig, (ax_v, ax_p, ax_s) = P.new_figure(3, size=(11.5, 3.7), dpi=DPI)
    heat = P.draw_divergence(ax_v, field, 0.0, lims, n=60, colorbar=True, title="")
    quiver = P.draw_field(ax_v, field, 0.0, lims, n=15, color=P.OKABE_ITO["black"])
    circle_v = P.draw_circle(ax_v, radius)
    title_v = ax_v.set_title("", fontsize=P.FONT["title"])
    lo, hi = np.percentile(log_p.numpy(), [2, 98])
    particles = P.draw_samples(
        ax_p, xs[0], values=log_p[0], vmin=float(lo), vmax=float(hi), size=6, alpha=0.9
    )
    P.draw_circle(ax_p, radius)
    P.set_limits(ax_p, lims)
    title_p = ax_p.set_title("", fontsize=P.FONT["title"])
    line_in, line_out = P.draw_series(
        ax_s,
        sol.ts,
        {f"inside |x| < {radius:g}": mean_in, "outside": mean_out},
        ylabel="mean p_t(x_t)",
        title="density of the particles",
    )
    marker = P.draw_time_marker(ax_s, 0.0)

    def render(state: dict) -> None:
        t = float(state["t"])
        k = _index(t, xs.shape[0])
        P.update_samples(particles, xs[k], values=log_p[k])
        P.update_signed(
            heat, P.divergence_on_grid(field, t, lims, 60)
        )  # colour scale fixed at t = 0
        P.update_field(quiver, field, t)
        P.move_time_marker(marker, t)
        title_v.set_text(f"div v and v at t = {t:.2f}")
        title_p.set_text(f"colour = log p_t(x_t), t = {t:.2f}")

    slider, play = _time_controls(steps, 0.0, interval_ms)
    dynamic = [heat, *ax_v.spines.values(), quiver, circle_v, particles, marker, title_v, title_p]
    artists = {
        "divergence": heat,
        "field": quiver,
        "particles": particles,
        "marker": marker,
        "inside": line_in,
        "outside": line_out,
        "title": title_p,
    }
    return Explorer(
        fig,
        render,
        {"t": slider},
        kind="divergence-explorer",
        play=play,
        time_key="t",
        dynamic=dynamic,
        artists=artists,
        data={
            "x_0": x_0,
            "xs": xs,
            "log_p": log_p,
            "ts": sol.ts,
            "mean_inside": mean_in,
            "mean_outside": mean_out,
        },
    )


def _rms(a: Tensor, b: Tensor) -> float:
    return float((a - b).pow(2).sum(1).mean().sqrt())


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
    With ``curves``, error against NFE for every fixed-step method on steps 1, 2, 4, ... is
    drawn once, and the current choice is marked on it. dopri5 adapts and ignores the steps.
    """
    widgets = _ipywidgets()
    _check_field(v)
    check_points(x_0, "x_0", dim=2)
    check_positive_int(max_steps, "max_steps")
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}; got {list(methods)}")
    with torch.no_grad():
        if reference is None:
            reference = solve(v, x_0, method="dopri5", rtol=1e-7, atol=1e-7).x
    check_points(reference, "reference", dim=2)
    check_same_shape(x_0, reference, "x_0 and reference")
    cache: dict[tuple[str, int], tuple[Tensor, int]] = {}

    def result(method: str, steps: int) -> tuple[Tensor, int]:
        key = (method, 0 if method == "dopri5" else int(steps))
        if key not in cache:
            with torch.no_grad():
                sol = solve(v, x_0, method=method, steps=max(key[1], 1))
            cache[key] = (sol.x.detach(), sol.nfe)
        return cache[key]

    fig, (ax_s, ax_e) = P.new_figure(2, size=(9.0, 4.2), dpi=DPI)
    P.draw_samples(ax_s, reference, color=P.GREY, size=5, alpha=0.5, label="reference")
    samples = P.draw_samples(ax_s, reference, color=P.PALETTE[0], size=5, alpha=0.7, label="solver")
    P.set_limits(ax_s, lims)
    title_s = ax_s.set_title("", fontsize=P.FONT["title"])
    text = P.draw_metrics(ax_s, {})
    step_grid = [s for s in (2**i for i in range(12)) if s <= max_steps]
    if curves:
        series_x, series_y = {}, {}
        for m in (m for m in methods if m in FIXED_STEP):
            pts = [result(m, s) for s in step_grid]
            series_x[m] = [nfe for _, nfe in pts]
            series_y[m] = [max(_rms(x, reference), 1e-12) for x, _ in pts]
        for i, m in enumerate(series_x):
            ax_e.loglog(
                series_x[m],
                series_y[m],
                "o-",
                color=P.PALETTE[i],
                label=m,
                markersize=3,
                linewidth=1.5,
            )
        if "dopri5" in methods:
            x, nfe = result("dopri5", 0)
            ax_e.loglog(
                [nfe],
                [max(_rms(x, reference), 1e-12)],
                "s",
                color=P.OKABE_ITO["black"],
                label="dopri5",
            )
        ax_e.legend(fontsize=P.FONT["legend"], frameon=False)
    ax_e.set_xlabel("NFE", fontsize=P.FONT["label"])
    ax_e.set_ylabel("RMS error at t = 1", fontsize=P.FONT["label"])
    ax_e.set_title("error vs cost", fontsize=P.FONT["title"])
    current = ax_e.plot(
        [],
        [],
        "o",
        markersize=12,
        markerfacecolor="none",
        markeredgecolor=P.OKABE_ITO["vermillion"],
        markeredgewidth=2,
    )[0]

    def render(state: dict) -> None:
        method, steps = state["method"], int(state["steps"])
        x, nfe = result(method, steps)
        err = _rms(x, reference)
        P.update_samples(samples, x)
        current.set_data([nfe], [max(err, 1e-12)])
        steps_s = "adaptive" if method == "dopri5" else str(steps)
        title_s.set_text(f"{method}, steps = {steps_s}")
        text.set_text(P.format_metrics({"NFE": nfe, "RMS error": err}))

    method = widgets.Dropdown(options=list(methods), value=list(methods)[0], description="method")
    steps = widgets.IntSlider(
        value=min(8, max_steps), min=1, max=max_steps, description="steps", continuous_update=False
    )

    def toggle(change):
        steps.disabled = change["new"] == "dopri5"

    method.observe(toggle, names="value")
    return Explorer(
        fig,
        render,
        {"method": method, "steps": steps},
        kind="solver-explorer",
        data={"reference": reference, "cache": cache},
        dynamic=[samples, current, title_s, text],
        artists={"samples": samples, "current": current, "metrics": text, "title": title_s},
    )


def hutchinson_explorer(
    v: Callable, x: Tensor, t: float = 0.5, k_max: int = 64, bins: int = 40, seed: int = 0
) -> Explorer:
    """Hutchinson's trace estimator: k probes, Gaussian or Rademacher, vs the exact div v. Section 6.1.2.

    For each point of x: (B, D) the estimate is the mean of the first k of ``k_max`` probes
    (``divergence_hutchinson(return_samples=True)``, one seeded generator per probe type). Left:
    estimate against the exact divergence (on the diagonal when exact); right: histogram of
    the errors estimate - exact, which is centred at 0 (unbiased) and narrows like 1/sqrt(k).
    """
    widgets = _ipywidgets()
    _check_field(v)
    check_points(x, "x")
    check_positive_int(k_max, "k_max")
    exact = divergence_exact(v, x, t).detach()  # (B,)
    running = {}
    for probe in ("gaussian", "rademacher"):
        gen = torch.Generator().manual_seed(seed)
        samples = divergence_hutchinson(
            v, x, t, k=k_max, probe=probe, generator=gen, return_samples=True
        ).detach()
        running[probe] = (
            samples.cumsum(0) / torch.arange(1, k_max + 1, dtype=samples.dtype)[:, None]
        )  # (k_max, B)
    spread = float(max((running[p][0] - exact).abs().quantile(0.98) for p in running)) or 1.0
    edges = np.linspace(-spread, spread, bins + 1)

    fig, (ax_s, ax_h) = P.new_figure(2, size=(9.0, 4.0), dpi=DPI)
    lo = float(min(exact.min(), min(r.min() for r in running.values())))
    hi = float(max(exact.max(), max(r.max() for r in running.values())))
    pad = 0.05 * (hi - lo or 1.0)
    ax_s.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=P.GREY, linewidth=1)
    points = ax_s.scatter(
        exact.numpy(), exact.numpy(), s=8, color=P.PALETTE[0], alpha=0.6, linewidths=0
    )
    ax_s.set_xlim(lo - pad, hi + pad)
    ax_s.set_ylim(lo - pad, hi + pad)
    ax_s.set_xlabel("exact div v", fontsize=P.FONT["label"])
    ax_s.set_ylabel("Hutchinson estimate", fontsize=P.FONT["label"])
    title_s = ax_s.set_title("", fontsize=P.FONT["title"])
    hist = P.draw_histogram(ax_h, running["gaussian"][0] - exact, edges)
    ax_h.axvline(0.0, color=P.OKABE_ITO["black"], linewidth=1.2, linestyle=":")
    ax_h.set_xlabel("estimate − exact", fontsize=P.FONT["label"])
    ax_h.set_title("errors over the points", fontsize=P.FONT["title"])
    text = P.draw_metrics(ax_h, {})
    # A fixed height (the tallest histogram over all k) keeps the axes static between frames.
    top = max(
        np.histogram((r - exact).numpy(), bins=edges, density=True)[0].max()
        for rs in running.values()
        for r in rs
    )
    ax_h.set_ylim(0, 1.1 * float(top))

    def render(state: dict) -> None:
        k, probe = int(state["k"]), state["probe"]
        est = running[probe][k - 1]
        err = est - exact
        P.update_samples(points, torch.stack([exact, est], dim=1))
        counts, _ = np.histogram(err.numpy(), bins=edges, density=True)
        hist.set_data(values=counts)
        title_s.set_text(f"{probe}, k = {k}")
        text.set_text(
            P.format_metrics(
                {"k": k, "bias": float(err.mean()), "RMS error": float(err.pow(2).mean().sqrt())}
            )
        )

    k = widgets.IntSlider(value=1, min=1, max=k_max, description="k", continuous_update=True)
    probe = widgets.ToggleButtons(
        options=["gaussian", "rademacher"], value="gaussian", description="probe"
    )
    return Explorer(
        fig,
        render,
        {"k": k, "probe": probe},
        kind="hutchinson-explorer",
        data={"exact": exact, "running_mean": running, "edges": edges},
        dynamic=[points, hist, title_s, text],
        artists={"points": points, "histogram": hist, "metrics": text, "title": title_s},
    )


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
    """
    widgets = _ipywidgets()
    _check_field(model, "model")
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
    cache: dict[tuple[int, float], tuple[Tensor, int]] = {}

    def result(y: int, w: float) -> tuple[Tensor, int]:
        key = (int(y), round(float(w), 6))
        if key not in cache:
            with torch.no_grad():
                sol = solve(guided_field(model, key[0], key[1]), x_0, method=method, steps=steps)
            cache[key] = (sol.x.detach(), sol.nfe)
        return cache[key]

    fig, ax = P.new_figure(1, size=(5.2, 4.6), dpi=DPI)
    P.draw_samples(ax, result(0, 0.0)[0], color=P.GREY, size=5, alpha=0.4, label="w = 0")
    samples = P.draw_samples(ax, x_0, size=6, alpha=0.8)
    P.set_limits(ax, lims)
    title = ax.set_title("", fontsize=P.FONT["title"])
    text = P.draw_metrics(ax, {})

    def render(state: dict) -> None:
        y, w = int(state["y"]), float(state["w"])
        x, nfe = result(y, w)
        P.update_samples(samples, x)
        samples.set_color(P.PALETTE[y % len(P.PALETTE)])
        title.set_text(f"{names[y]}, w = {w:.2f}")
        text.set_text(P.format_metrics({"NFE": nfe, "std": float(x.std(0).mean())}))

    y = widgets.Dropdown(
        options=[(name, i) for i, name in enumerate(names)], value=0, description="class"
    )
    w = widgets.FloatSlider(
        value=1.0, min=0.0, max=w_max, step=0.25, description="w", continuous_update=False
    )
    return Explorer(
        fig,
        render,
        {"y": y, "w": w},
        kind="guidance-explorer",
        data={"x_0": x_0, "cache": cache},
        dynamic=[samples, title, text],
        artists={"samples": samples, "metrics": text, "title": title},
    )
