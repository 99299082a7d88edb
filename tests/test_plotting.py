"""fmlib.plotting: pure drawing on a given Axes, checked against values computed here."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402  (only to check that nothing leaks into pyplot)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import fmlib as fm  # noqa: E402
from fmlib import fields  # noqa: E402
from fmlib import plotting as P  # noqa: E402
from fmlib.ot import W2Report  # noqa: E402


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    assert plt.get_fignums() == []
    yield
    assert plt.get_fignums() == [], "a pyplot figure leaked"


@pytest.fixture
def ax():
    fig, ax = P.new_figure()
    return ax


def test_new_figure_is_agg_and_unknown_to_pyplot():
    rc_before = dict(matplotlib.rcParams)
    fig, axes = P.new_figure(3, 2, size=(6, 4), dpi=50)
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    assert axes.shape == (2, 3) and len(fig.axes) == 6
    assert tuple(fig.get_size_inches()) == (6, 4) and fig.dpi == 50
    fig1, ax1 = P.new_figure()
    assert not isinstance(ax1, np.ndarray)
    assert P.new_figure(2)[1].shape == (2,)
    assert ax1.xaxis.get_ticklabels()[0].get_fontsize() == P.FONT["tick"]
    with P.style():
        assert matplotlib.rcParams["axes.titlesize"] == P.FONT["title"]
    assert dict(matplotlib.rcParams) == rc_before, "global rcParams were changed"
    with pytest.raises(ValueError, match="ncols"):
        P.new_figure(0)


def test_palette_is_okabe_ito():
    assert len(set(P.PALETTE)) == 8
    assert {c.upper() for c in P.PALETTE} == {
        "#000000",
        "#E69F00",
        "#56B4E9",
        "#009E73",
        "#F0E442",
        "#0072B2",
        "#D55E00",
        "#CC79A7",
    }


def test_as_lims_and_grid_orientation():
    assert P.as_lims(2) == ((-2.0, 2.0), (-2.0, 2.0))
    assert P.as_lims((0, 1)) == ((0.0, 1.0), (0.0, 1.0))
    assert P.as_lims(((0, 1), (-3, 3))) == ((0.0, 1.0), (-3.0, 3.0))
    for bad in ("x", (1, 0), ((0, 1),), None):
        with pytest.raises(ValueError, match="lims"):
            P.as_lims(bad)
    g = P.grid(((0, 1), (10, 12)), n=3)
    assert g.shape == (9, 2)
    img = g.reshape(3, 3, 2)  # (rows = y, cols = x)
    torch.testing.assert_close(img[0, :, 0], torch.tensor([0.0, 0.5, 1.0]))
    torch.testing.assert_close(img[:, 0, 1], torch.tensor([10.0, 11.0, 12.0]))


def test_draw_samples_positions_labels_and_values(ax):
    x = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    sc = P.draw_samples(ax, x, labels=torch.tensor([0, 1, 2]))
    np.testing.assert_allclose(sc.get_offsets(), x.numpy())
    assert [to_hex(c).upper() for c in sc.get_facecolors()] == [c.upper() for c in P.PALETTE[:3]]
    sc2 = P.draw_samples(ax, x, values=torch.tensor([1.0, 2.0, 3.0]))
    P.update_samples(sc2, x + 1, values=torch.tensor([5.0, 6.0, 7.0]))
    np.testing.assert_allclose(sc2.get_offsets(), (x + 1).numpy())
    np.testing.assert_allclose(sc2.get_array(), [5.0, 6.0, 7.0])
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        P.draw_samples(ax, torch.zeros(3, 3))


def test_draw_field_evaluates_v_on_the_grid_and_updates_in_place(ax):
    def v(x, t):
        return torch.stack([x[:, 1] * t, -x[:, 0] + t], dim=1)

    q = P.draw_field(ax, v, 0.2, lims=2.0, n=5)
    pts = P.grid(2.0, 5)
    np.testing.assert_allclose(q.X, pts[:, 0].numpy())
    np.testing.assert_allclose(q.Y, pts[:, 1].numpy())
    np.testing.assert_allclose(q.U, (pts[:, 1] * 0.2).numpy(), atol=1e-7)
    same = q
    P.update_field(q, v, 0.9)
    assert q is same
    np.testing.assert_allclose(q.U, (pts[:, 1] * 0.9).numpy(), atol=1e-6)
    np.testing.assert_allclose(q.V, (-pts[:, 0] + 0.9).numpy(), atol=1e-6)
    assert ax.get_xlim() == (-2.0, 2.0)
    with pytest.raises(TypeError, match="vector field"):
        P.draw_field(ax, "v", 0.0, 2.0)


def test_trajectories_and_segments(ax):
    xs = torch.arange(3 * 4 * 2, dtype=torch.float32).reshape(3, 4, 2)  # (K, B, 2)
    lc = P.draw_trajectories(ax, xs, max_lines=3)
    segs = lc.get_segments()
    assert len(segs) == 3
    np.testing.assert_allclose(segs[1], xs[:, 1].numpy())
    x_0, x_1 = torch.zeros(5, 2), torch.ones(5, 2) * torch.arange(5.0)[:, None]
    sl = P.draw_segments(ax, x_0, x_1)
    np.testing.assert_allclose(sl.get_segments()[4], [[0, 0], [4, 4]])
    with pytest.raises(ValueError):
        P.draw_segments(ax, x_0, torch.ones(4, 2))


def test_density_from_log_density_and_histogram(ax):
    def log_p(x):
        return x[:, 0]  # grows with x, constant in y: tells rows from columns

    im = P.draw_density(ax, log_p, lims=((0, 1), (0, 2)), n=4)
    img = im.get_array()
    np.testing.assert_allclose(img[0], np.exp(np.linspace(0, 1, 4)), rtol=1e-6)
    np.testing.assert_allclose(img[:, 0], np.ones(4))
    assert im.get_extent() == [0.0, 1.0, 0.0, 2.0] and im.origin == "lower"

    x = torch.tensor([[1.5, -1.5]] * 3 + [[-1.5, 1.5]])
    h = P.histogram_density(x, lims=2.0, bins=4)
    cell = 1.0  # (4 / 4)^2
    assert h[0, 3] == pytest.approx(0.75 / cell)  # row 0 = lowest y, column 3 = largest x
    assert h[3, 0] == pytest.approx(0.25 / cell)
    assert h.sum() * cell == pytest.approx(1.0)
    im.set_data(h)
    np.testing.assert_allclose(im.get_array(), h)


def test_divergence_and_curl_heatmaps_centre_white_at_zero(ax):
    v = fields.source_sink(radius=1.5)
    im = P.draw_divergence(ax, v, 0.0, lims=2.0, n=7)
    pts = P.grid(2.0, 7)
    expected = (2 - 4 * (pts**2).sum(1) / 1.5**2).reshape(7, 7).numpy()
    np.testing.assert_allclose(im.get_array(), expected, rtol=1e-5)
    assert im.norm(0.0) == pytest.approx(0.5)  # white (the colormap's centre) at div v = 0
    assert im.get_cmap().name == P.DIVERGING
    fig2, ax2 = P.new_figure()
    im2 = P.draw_curl(ax2, fields.rotation(0.75), 0.0, lims=1.0, n=5, colorbar=False)
    np.testing.assert_allclose(im2.get_array(), np.full((5, 5), 1.5))
    assert im2.norm(0.0) == pytest.approx(0.5)
    P.update_signed(im2, np.zeros((5, 5)))
    np.testing.assert_allclose(im2.get_array(), 0.0)


def test_metrics_panel_reads_w2_against_the_noise_floor(ax):
    text = P.draw_metrics(
        ax, {"W2": W2Report(0.3, 0.1), "NFE": 12, "kinetic energy": 2.34567, "VP": float("inf")}
    )
    s = text.get_text()
    assert "W2 = 0.300  (3.00 x noise floor 0.100)" in s
    assert "NFE = 12" in s and "kinetic energy = 2.346" in s and "VP = inf" in s
    text.set_text(P.format_metrics({"straightness": 0.5}))
    assert text.get_text() == "straightness = 0.5"


def test_series_marker_histogram_and_png(ax):
    lines = P.draw_series(ax, [0, 0.5, 1], {"a": [1, 2, 3], "b": torch.tensor([3.0, 2.0, 1.0])})
    np.testing.assert_allclose(lines[1].get_ydata(), [3, 2, 1])
    assert to_hex(lines[0].get_color()).upper() == P.PALETTE[0].upper()
    m = P.draw_time_marker(ax, 0.2)
    P.move_time_marker(m, 0.7)
    np.testing.assert_allclose(m.get_xdata(), [0.7, 0.7])
    edges = np.linspace(-1, 1, 5)
    patch = P.draw_histogram(ax, [-0.9, -0.8, 0.1, 0.9], edges, density=False)
    np.testing.assert_allclose(patch.get_data().values, [2, 0, 1, 1])
    png = P.png_bytes(ax.figure)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_signed_heatmap_scale_is_symmetric_with_a_tick_at_zero(ax):
    values = np.linspace(-22.0, 2.0, 25).reshape(5, 5)  # lopsided, like a source/sink's div v
    im = P.draw_signed(ax, values, lims=1.0)
    assert (im.norm.vmin, im.norm.vmax) == (-22.0, 22.0)
    ticks = im.colorbar.get_ticks()
    assert 0.0 in ticks and np.allclose(ticks, -ticks[::-1])  # 0 marked, ticks mirror each other
    assert 0.0 in P.symmetric_ticks(0.37) and len(P.symmetric_ticks(20.2)) == 5


def test_update_density_rescales_to_the_new_maximum(ax):
    im = P.draw_density(ax, np.ones((4, 4)), lims=1.0)
    P.update_density(im, np.full((4, 4), 3.0))
    assert im.get_clim() == (0.0, 3.0) and float(im.get_array().max()) == 3.0


def test_error_vs_nfe_panel_and_marker(ax):
    from fmlib.solvers import SolverRun

    x = torch.zeros(3, 2)
    runs = [SolverRun("euler", s, x, s, 1.0 / s) for s in (1, 2, 4)] + [
        SolverRun("dopri5", 0, x, 26, 1e-6)
    ]
    lines = P.draw_error_vs_nfe(ax, runs)
    assert [line.get_label() for line in lines] == ["euler", "dopri5"]
    np.testing.assert_allclose(lines[0].get_xydata(), [[1, 1.0], [2, 0.5], [4, 0.25]])
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    ring = P.draw_marker(ax)
    ring.set_data([2], [0.5])
    assert ring.get_markerfacecolor() == "none"


def test_series_scales_labels_and_sample_panels(ax):
    lines = P.draw_series(ax, [1, 10, 100], {"cost": [1, 5, 30]}, scale="loglog", markers=True)
    assert ax.get_xscale() == "log" and lines[0].get_marker() == "o"
    with pytest.raises(ValueError, match="scale"):
        P.draw_series(ax, [1], {"a": [1]}, scale="semilog")
    P.label_axes(ax, "n", "error", "convergence")
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("n", "error", "convergence")
    fig = P.sample_panels({"data": torch.zeros(5, 2), "model": torch.ones(5, 2)}, lims=2.0)
    assert [a.get_title() for a in fig.axes] == ["data", "model"]
    assert all(a.get_xlim() == (-2.0, 2.0) for a in fig.axes)
    np.testing.assert_allclose(fig.axes[1].collections[0].get_offsets(), np.ones((5, 2)))
    with pytest.raises(TypeError, match="mapping"):
        P.sample_panels([torch.zeros(5, 2)])


def test_update_field_reads_the_arrow_positions_not_a_hidden_attribute(ax):
    q = P.draw_field(ax, fields.rotation(), 0.0, lims=2.0, n=5)
    assert not hasattr(q, "fm_points")
    P.update_field(q, lambda x, t: 2 * x, 0.5)
    g = P.grid(2.0, 5)
    np.testing.assert_allclose(np.column_stack([q.U, q.V]), 2 * g.numpy(), atol=1e-6)


def test_arrow_scale_covers_the_times_an_animation_visits(ax):
    def growing(x, t):  # zero at t = 0, longest arrow 2 * sqrt(2) * t at the grid's corners
        return 2 * t * torch.ones_like(x) * x.abs().max(1, keepdim=True).values

    q = P.draw_field(ax, growing, 0.0, lims=1.0, n=5, scale_times=(0.5, 1.0))
    cell = 2.0 / 4
    assert q.scale == pytest.approx(2 * math.sqrt(2) / (1.4 * cell), rel=1e-5)


# ---------- projector mode (presentation) --------------------------------------------------------
# Projector mode (fm.plotting.presentation): bigger text and lines everywhere, and exactly back.


@pytest.fixture(autouse=True)
def _back_to_normal():
    yield
    P.presentation(False)


def _tick_size(fig):
    return fig.axes[0].get_xticklabels()[0].get_fontsize()


def test_text_and_lines_grow_and_the_palette_stays():
    before_font, before_rc = dict(P.FONT), mpl.rcParams.copy()
    normal = _tick_size(P.new_figure()[0])
    P.presentation()
    assert P.FONT == {k: round(v * 1.5) for k, v in before_font.items()}
    assert _tick_size(P.new_figure()[0]) == pytest.approx(1.5 * normal, abs=0.5)
    assert mpl.rcParams["font.size"] >= 16  # readable from the back of a room
    assert mpl.rcParams["lines.linewidth"] == pytest.approx(1.5 * before_rc["lines.linewidth"])
    colours = [c["color"] for c in mpl.rcParams["axes.prop_cycle"]]
    assert colours == list(P.PALETTE)  # the colour-blind-safe palette
    # an explorer built now has projector-sized titles
    ex = fm.widgets.flow_explorer(lambda x, t: -x, torch.randn(50, 2), steps=4)
    sizes = [t.get_fontsize() for ax in ex.figure.axes for t in [ax.title] if t.get_text()]
    assert sizes and min(sizes) >= round(before_font["title"] * 1.5)


def _rc_snapshot():
    return {k: mpl.rcParams[k] for k in mpl.rcParams if k != "backend"}


def test_drawing_never_changes_rcparams_and_projector_mode_changes_only_its_keys():
    # the module's promise: draw_* and new_figure leave matplotlib's global rcParams alone, and
    # presentation() is the one switch that writes them, only the keys in _PROJECTOR_RC
    before = _rc_snapshot()
    fig, ax = P.new_figure()
    x = torch.randn(30, 2)
    P.draw_samples(ax, x)
    P.draw_field(ax, lambda x, t: -x, 0.5, 2.0, n=5)
    P.draw_trajectories(ax, torch.randn(4, 10, 2))
    P.draw_density(ax, lambda x: -x.pow(2).sum(1), 2.0, n=8)
    P.draw_metrics(ax, {"W2": 0.1})
    P.draw_series(ax, [0.0, 1.0], {"a": [1.0, 2.0]})
    assert _rc_snapshot() == before
    P.presentation()
    changed = {k for k, v in _rc_snapshot().items() if v != before[k]}
    assert changed and changed <= set(P._PROJECTOR_RC)
    P.presentation(False)
    assert _rc_snapshot() == before


def test_switching_back_restores_exactly_and_never_compounds():
    before_font, before_rc = dict(P.FONT), mpl.rcParams.copy()
    P.presentation()
    P.presentation()  # twice on is still 1.5x, not 2.25x
    assert P.FONT["title"] == round(before_font["title"] * 1.5)
    P.presentation(False)
    assert P.FONT == before_font
    assert {k: mpl.rcParams[k] for k in P._PROJECTOR_RC} == {
        k: before_rc[k] for k in P._PROJECTOR_RC
    }


def test_bad_arguments_name_what_was_expected():
    with pytest.raises(TypeError, match="on must be True or False"):
        P.presentation("yes")
    with pytest.raises(ValueError, match=r"scale must be a number in \[1, 4\]"):
        P.presentation(scale=0.5)
