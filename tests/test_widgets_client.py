"""fmlib.widgets.client, headless: what the page receives equals what the scene draws.

For every state the page can show, the exported arrays must equal the artists ``update(state)``
leaves behind (offsets, quiver U/V, image pixels, texts), the affine must map data to the pixels
matplotlib uses, and a control set from Python must move the page to that state. The pixels the
page paints are compared with matplotlib's in a browser (tests/browser/test_client.py).
"""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import randn  # noqa: E402

from fmlib import widgets as W  # noqa: E402
from fmlib.widgets import client as C  # noqa: E402


def spin(x, t):
    return 2 * t * torch.stack([-x[:, 1], x[:, 0]], dim=1)


@pytest.fixture(scope="module")
def flow():
    ex = W.flow_explorer(spin, randn(30, dtype=torch.float32), steps=8)
    return ex, C.export(ex)


@pytest.fixture(scope="module")
def paths():
    ex = W.path_comparison(randn(12, seed=1), randn(12, seed=2), frames=6, max_lines=8)
    return ex, C.export(ex)


def layer(data, type_, axes=None, nth=0):
    found = [L for L in data["spec"]["layers"] if L["type"] == type_ and L["axes"] == axes]
    return found[nth]


def rows(data, ref):
    """The array at every state, as the page indexes it (None: one for all states)."""
    if not ref["per_state"]:
        return None
    return C.expand(data["blob"], ref, data["spec"]["counts"])


def test_flow_export_equals_every_state(flow):
    ex, data = flow
    pts, quiv, img = layer(data, "points", 0), layer(data, "quiver", 0), layer(data, "image", 1)
    xy, uv, rgba = rows(data, pts["xy"]), rows(data, quiv["uv"]), rows(data, img["rgba"])
    assert xy.shape == (9, 30, 2) and uv.shape == (9, 400, 2) and rgba.shape[0] == 9
    palette = C.decode(data["blob"], img["palette"]) if "palette" in img else None
    for k in range(9):
        ex.update(t=k / 8)
        a = ex.artists
        np.testing.assert_array_equal(xy[k], a["particles"].get_offsets().astype(np.float32))
        np.testing.assert_array_equal(uv[k, :, 0], np.float32(a["field"].U))
        np.testing.assert_array_equal(uv[k, :, 1], np.float32(a["field"].V))
        density = a["density"]
        page = palette[rgba[k]] if palette is not None else rgba[k]  # as client.js expands it
        np.testing.assert_array_equal(page, density.to_rgba(density.get_array(), bytes=True))
    # the particles really move (a rotation by t^2): the exported states are not all one
    assert not np.allclose(xy[0], xy[-1])


def test_flow_texts_one_sprite_per_distinct_title(flow):
    ex, data = flow
    title = layer(data, "text", 0)
    assert len(title["sprite"]) == 9 and len(set(title["sprite"])) == 9  # t = 0.00 ... 1.00
    assert data["atlas"][:8] == b"\x89PNG\r\n\x1a\n"


def test_affine_maps_data_to_matplotlib_pixels(flow):
    ex, data = flow
    for ax, spec in zip(ex.figure.axes, data["spec"]["axes"], strict=True):
        a, b, c, d, e, f = spec["affine"]
        pts = np.array([[-2.0, 1.5], [0.3, -2.7]])
        display = ax.transData.transform(pts)
        page = np.column_stack(
            [a * pts[:, 0] + c * pts[:, 1] + e, b * pts[:, 0] + d * pts[:, 1] + f]
        )
        np.testing.assert_allclose(page[:, 0], display[:, 0], atol=1e-9)
        np.testing.assert_allclose(page[:, 1], ex.figure.bbox.height - display[:, 1], atol=1e-9)


def test_paths_export_equals_every_state_and_keeps_static_above(paths):
    ex, data = paths
    for i, name in enumerate(ex.scene.paths):
        xy = rows(data, layer(data, "points", i)["xy"])
        assert xy.shape == (7, 8, 2)  # the first max_lines pairs
        for k in (0, 3, 6):
            ex.update(t=k / 6)
            np.testing.assert_array_equal(xy[k], ex.artists[name].get_offsets().astype(np.float32))
    # the grey paths and the x_0, x_1 clouds are drawn above x_t: they come as the overlay
    assert data["overlay"][:8] == b"\x89PNG\r\n\x1a\n"


def test_state_order_and_index_from_python(flow):
    ex, data = flow
    spec = data["spec"]
    assert [c["key"] for c in spec["controls"]] == ["t"] and spec["counts"] == [9]
    view = ex.widget
    assert {"fm-explorer", "fm-flow-explorer", "fm-client"} <= set(view._dom_classes)
    ex.update(t=0.75)
    assert view.index == [6]
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "image/png" in bundle
    # its text is the same in every run (a notebook loaded from the cache shows what a live run
    # showed): no memory address in it
    assert repr(view) == f"ClientView({spec['alt']!r})" and " at 0x" not in bundle["text/plain"]


def test_a_scene_moving_what_the_page_cannot_draw_is_refused():
    ex = W.path_comparison(randn(6, seed=1), randn(6, seed=2), frames=2, max_lines=4)
    ex.artists[next(iter(ex.scene.paths))].set_paths([])  # a scatter of no marker at all
    with pytest.raises(C.ClientUnsupported):
        C.export(ex)


def test_states_put_t_last():
    ex = W.hutchinson_explorer(lambda x, t: -x, randn(6, dtype=torch.float32), k_max=3)
    states = C.states(ex)
    assert len(states) == 3 * 2 and states[0]["k"] == 1 and states[1]["k"] == 1


def test_projector_mode_reaches_the_page():
    """fm.plotting.presentation(): the titles the page shows are matplotlib's, at its sizes."""
    from fmlib import plotting as P

    def title_height():
        ex = W.flow_explorer(spin, randn(10, dtype=torch.float32), steps=2)
        return layer(C.export(ex), "text", 0)["boxes"][0][3]

    normal = title_height()
    P.presentation()
    try:
        big = title_height()
    finally:
        P.presentation(False)
    assert big > 1.3 * normal, (normal, big)


def test_diffusion_export_holds_both_samplers_t_fastest():
    ex = W.diffusion_explorer(
        lambda x, t: x,
        spin,
        randn(15, dtype=torch.float32),
        score=lambda x, t: -x,
        steps=4,
        sde_steps=8,
        generator=torch.Generator().manual_seed(1),
    )
    data = C.export(ex)
    spec = data["spec"]
    assert [c["key"] for c in spec["controls"]] == ["sampler", "t"] and spec["counts"] == [2, 5]
    xy = rows(data, layer(data, "points", 0)["xy"])  # the diffusion panel's particles
    for j, sampler in enumerate(["ode", "sde"]):
        for k in (0, 2, 4):
            ex.update(sampler=sampler, t=k / 4)
            offsets = ex.artists["diffusion"].get_offsets().astype(np.float32)
            np.testing.assert_array_equal(xy[5 * j + k], offsets)


def test_divergence_export_colours_and_time_marker():
    ex = W.divergence_explorer(n=40, steps=4)
    data = C.export(ex)
    pts = layer(data, "points", 1)
    palette = C.decode(data["blob"], pts["palette"])
    index = rows(data, pts["rgba"])
    marker = layer(data, "polyline", 2)
    xy = rows(data, marker["xy"])
    height = ex.figure.bbox.height
    for k in (0, 2, 4):
        ex.update(t=k / 4)
        ex.artists["particles"].update_scalarmappable()  # as a draw would
        colours = ex.artists["particles"].get_facecolor()
        np.testing.assert_allclose(palette[index[k]], colours, atol=1e-6)
        line = ex.artists["marker"]
        display = line.get_transform().transform(line.get_xydata())
        np.testing.assert_allclose(xy[k, :, 0], display[:, 0], atol=1e-3)
        np.testing.assert_allclose(xy[k, :, 1], height - display[:, 1], atol=1e-3)
    assert xy[4, 0, 0] > xy[0, 0, 0]  # the marker moves right with t


def test_a_client_scene_the_page_cannot_draw_falls_back_to_the_kernel_shell():
    ex = W.flow_explorer(spin, randn(10, dtype=torch.float32), steps=2)
    ex.figure.axes[0].set_xscale("log")  # the page draws linear axes only
    with pytest.warns(UserWarning, match="drawn by the kernel"):
        assert ex.widget is ex.shell


# ------------------------------------------------------------------ the posterior explorer (6.3.2)
@pytest.fixture(scope="module")
def posterior():
    pts = randn(10, seed=4, dtype=torch.float32)
    ex = W.posterior_explorer(pts, x=(1.0, 0.5), n=40, frames=4, lims=1.0)
    return ex, C.export(ex)


def test_posterior_export_equals_every_state(posterior):
    """Every (x, y, t) on the page's grid: the arrays the page draws are what update() leaves."""
    ex, data = posterior
    spec = data["spec"]
    assert [c["key"] for c in spec["controls"]] == ["x", "y", "t"]
    assert spec["counts"] == [5, 5, 5]  # x, y in steps of 0.5 over [-1, 1]; 4 steps of t
    layers = {name: layer(data, kind, axes, nth) for name, (kind, axes, nth) in {
        "p_t": ("points", 0, 0), "points": ("points", 0, 1), "query": ("points", 0, 2),
        "mean": ("points", 0, 3), "lines": ("lines", 0, 0), "arrow": ("quiver", 0, 0),
        "weights": ("stairs", 1, 0),
    }.items()}  # fmt: skip
    p_t = rows(data, layers["p_t"]["xy"])
    sizes = rows(data, layers["points"]["radius"])
    lines = rows(data, layers["lines"]["segments"])
    opacity = C.decode(data["blob"], layers["lines"]["palette"])[
        rows(data, layers["lines"]["rgba"])
    ]
    arrow_xy, arrow_uv = rows(data, layers["arrow"]["xy"]), rows(data, layers["arrow"]["uv"])
    query, mean = rows(data, layers["query"]["xy"]), rows(data, layers["mean"]["xy"])
    bars = rows(data, layers["weights"]["values"])
    # stored only along what they depend on: p_t on t, the lines' ends on x and y
    assert layers["p_t"]["xy"]["dims"] == [2] and layers["lines"]["segments"]["dims"] == [0, 1]
    assert (
        layers["query"]["xy"]["shape"][0] == 25 and layers["weights"]["values"]["shape"][0] == 125
    )
    dpi, a = ex.figure.dpi, ex.artists
    for s, state in enumerate(C.states(ex)):
        if s % 7:  # every seventh state, over all three controls
            continue
        ex.render(state)
        np.testing.assert_array_equal(p_t[s], a["p_t"].get_offsets().astype(np.float32))
        np.testing.assert_allclose(
            sizes[s], 0.5 * np.sqrt(a["points"].get_sizes()) * dpi / 72, rtol=1e-6
        )
        np.testing.assert_array_equal(lines[s], np.float32(a["lines"].get_segments()))
        np.testing.assert_allclose(opacity[s], a["lines"].get_colors(), atol=1e-7)
        np.testing.assert_array_equal(arrow_xy[s, 0], np.float32([state["x"], state["y"]]))
        np.testing.assert_allclose(arrow_uv[s, 0], [a["arrow"].U[0], a["arrow"].V[0]], rtol=1e-6)
        np.testing.assert_array_equal(query[s, 0], np.float32([state["x"], state["y"]]))
        np.testing.assert_array_equal(mean[s], a["mean"].get_offsets().astype(np.float32))
        np.testing.assert_array_equal(bars[s], np.float32(a["weights"].get_data().values))
    # the weights flatten at t = 0 and collapse by t = 1: the states are not all one
    assert np.allclose(bars[0], 0.1) and bars[4].max() > 0.5
    # the X and the star are matplotlib's own polygons, not circles
    assert layers["query"]["marker"] and layers["mean"]["marker"] and "marker" not in layers["p_t"]


def test_posterior_texts_one_sprite_per_distinct_line(posterior):
    ex, data = posterior
    texts = [L for L in data["spec"]["layers"] if L["type"] == "text"]
    x_title, t_title = texts[0], texts[1]
    assert len(x_title["boxes"]) == 25 and len(t_title["boxes"]) == 5  # (x, y) pairs; t values
    assert len(texts) == 5  # and the metrics box's three lines
    ex.update(x=0.5, y=-1.0, t=0.25)
    assert ex.artists["title"].get_text() == "x = (0.50, -1.00)"
    assert ex.artists["t_title"].get_text() == "t = 0.25"


def test_the_page_reports_its_state_back_to_the_explorer(posterior):
    """What the comm does when the page moves its sliders: ``index`` changes, the explorer's
    state and controls follow, without a kernel redraw; a state set in Python reaches the page."""
    ex, _ = posterior
    ex.update(x=1.0, y=0.5, t=0.5)
    view = ex.widget
    before = ex.image.value
    view.index = [0, 4, 1]  # x = -1, y = 1, t = 0.25: as the page sends it
    assert ex.state == {"t": 0.25, "x": -1.0, "y": 1.0}
    assert ex.controls["x"].value == -1.0 and ex.controls["t"].value == 0.25
    assert ex.play.value == 1  # the Play linked to t follows too
    assert ex.image.value is before  # no kernel frame per page step ...
    bundle = ex._repr_mimebundle_()  # ... until a still is asked for: then it is that state
    assert ex.image.value != before and "image/png" in bundle
    assert ex.artists["title"].get_text() == "x = (-1.00, 1.00)"
    ex.update(t=1.0)  # Python -> page
    assert view.index == [0, 4, 4]


def test_posterior_page_weight_and_state_count():
    """The notebook's posterior explorer (40 points, the default grid): under MAX_STATES, and
    what the page receives stays below 2.5 MB (base64)."""
    g = torch.Generator().manual_seed(0)
    ex = W.posterior_explorer(torch.randn(40, 2, generator=g), x=(1.0, 0.5))
    data = C.export(ex)
    assert data["spec"]["states"] == 11 * 11 * 21 <= C.MAX_STATES
    sent = sum(len(data[k]) for k in ("blob", "still", "overlay", "atlas")) * 4 / 3
    assert sent < 2.5e6, sent


# ------------------------------------------------------------------ solver (6.5.2), guidance (6.5.3)
def test_solver_export_holds_every_method_at_every_step_count():
    """Every (method, steps): the page's samples are that solve's (checked against a solve
    written here for Euler, x_{k+1} = x_k + h v(x_k)), and the ring on the log-log panel sits
    where matplotlib puts it, in canvas pixels."""
    x_0 = randn(30, seed=5, dtype=torch.float32)
    ex = W.solver_explorer(lambda x, t: -x, x_0, max_steps=6)
    data = C.export(ex)
    spec = data["spec"]
    assert [c["key"] for c in spec["controls"]] == ["method", "steps"]
    assert spec["counts"] == [len(ex.scene.methods), 6] and spec["axes"][1]["affine"] is None
    xy = rows(data, layer(data, "points", 0)["xy"])
    ring = rows(data, layer(data, "marks", 1)["xy"])
    height = ex.figure.bbox.height
    for s, state in enumerate(C.states(ex)):
        ex.render(state)
        np.testing.assert_array_equal(xy[s], ex.artists["samples"].get_offsets().astype(np.float32))
        line = ex.artists["current"]
        display = line.get_transform().transform(line.get_xydata())
        np.testing.assert_allclose(ring[s, :, 0], display[:, 0], atol=1e-3)
        np.testing.assert_allclose(ring[s, :, 1], height - display[:, 1], atol=1e-3)
        if state["method"] == "euler":
            k = state["steps"]
            np.testing.assert_allclose(xy[s], (x_0 * (1 - 1 / k) ** k).numpy(), rtol=1e-5)


def test_guidance_export_holds_every_class_and_w():
    from fmlib.models import VectorFieldMLP
    from fmlib.solvers import solve

    torch.manual_seed(0)
    model = VectorFieldMLP(dim=2, hidden=8, depth=1, num_classes=2)
    x_0 = randn(20, seed=6, dtype=torch.float32)
    ex = W.guidance_explorer(model, x_0=x_0, steps=2, w_max=1.0)
    data = C.export(ex)
    assert data["spec"]["counts"] == [2, 5]  # 2 classes x w in 0, 0.25, ..., 1
    pts = layer(data, "points", 0)
    xy, colour = rows(data, pts["xy"]), rows(data, pts["rgba"])
    for s, state in enumerate(C.states(ex)):
        with torch.no_grad():

            def guided(x, t, y=state["y"], w=state["w"]):  # v_null + w (v_y - v_null), here
                null = model(x, t, torch.full((len(x),), model.null_class))
                return null + w * (model(x, t, torch.full((len(x),), y)) - null)

            expected = solve(guided, x_0, method="midpoint", steps=2).x
        np.testing.assert_allclose(xy[s], expected.numpy(), atol=1e-6)
        ex.render(state)
        np.testing.assert_allclose(colour[s], ex.artists["samples"].get_facecolor(), atol=1e-7)
    assert not np.allclose(colour[0], colour[-1])  # the class's colour changes with the class
