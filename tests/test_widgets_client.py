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
    a = C.decode(data["blob"], ref)
    return a if ref["per_state"] else None


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


def test_a_scene_moving_what_the_page_cannot_draw_is_refused():
    ex = W.solver_explorer(lambda x, t: -x, randn(5, dtype=torch.float32), max_steps=3)
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
