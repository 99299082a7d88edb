"""fmlib.widgets, headless: build each explorer, move a control, check the artists against values
computed here (closed forms where there are any), the PNG, Play, the static fallbacks."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import ipywidgets  # noqa: E402, F401  (the test extra: missing, these tests must fail, not skip)
import matplotlib.pyplot as plt  # noqa: E402  (only to check that nothing leaks into pyplot)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import randn  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from fmlib import fields  # noqa: E402
from fmlib import plotting as P  # noqa: E402
from fmlib import widgets as W  # noqa: E402
from fmlib.models import VectorFieldMLP  # noqa: E402
from fmlib.solvers import solve  # noqa: E402

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    assert plt.get_fignums() == []
    yield
    assert plt.get_fignums() == [], "an explorer leaked a pyplot figure"


def buffer(explorer):
    return np.asarray(explorer.figure.canvas.buffer_rgba()).copy()


# --------------------------------------------------------------------------------------------
# flow_explorer, and the Explorer machinery through it
# --------------------------------------------------------------------------------------------


def spin(x, t):
    """v(x, t) = 2t (-x_2, x_1): a rotation that speeds up; x_t is x_0 turned by t^2 radians."""
    return 2 * t * torch.stack([-x[:, 1], x[:, 0]], dim=1)


@pytest.fixture
def flow():
    v = spin
    x_0 = randn(40, dtype=torch.float32)
    return v, x_0, W.flow_explorer(v, x_0, lims=3.0, steps=20, method="midpoint")


def test_flow_explorer_moves_particles_and_field_to_t(flow):
    v, x_0, ex = flow
    png_0 = ex.image.value
    ex.update(t=0.5)
    assert ex.state["t"] == 0.5
    # particles: the trajectory at t = 0.5 from our own solve, and the exact turn by 0.25 rad
    xs = solve(v, x_0, method="midpoint", steps=20, return_trajectory=True).xs
    offsets = ex.artists["particles"].get_offsets()
    np.testing.assert_allclose(offsets, xs[10].numpy(), atol=1e-6)
    c, s = math.cos(0.25), math.sin(0.25)
    np.testing.assert_allclose(offsets, (x_0 @ torch.tensor([[c, s], [-s, c]])).numpy(), atol=3e-3)
    # field: v(x, 0.5) = (-y, x) on the 20 x 20 grid
    q = ex.artists["field"]
    g = P.grid(3.0, 20)
    np.testing.assert_allclose(q.U, -g[:, 1].numpy(), atol=1e-6)
    np.testing.assert_allclose(q.V, g[:, 0].numpy(), atol=1e-6)
    # density panel: the particles' histogram at t, computed here
    h, _, _ = np.histogram2d(
        xs[10][:, 1].numpy(), xs[10][:, 0].numpy(), bins=40, range=[[-3, 3], [-3, 3]]
    )
    np.testing.assert_allclose(ex.artists["density"].get_array(), h / 40 / (6 / 40) ** 2)
    assert "t = 0.50" in ex.artists["title"].get_text()
    assert ex.image.value != png_0 and ex.image.value[:4] == b"\x89PNG"
    assert ex.image.value == ex.snapshot()


def test_play_is_linked_to_the_time_slider_both_ways(flow):
    _, _, ex = flow
    assert ex.play is not None and ex.play.max == 20
    ex.play.value = 15
    assert ex.controls["t"].value == pytest.approx(0.75)
    assert ex.state["t"] == pytest.approx(0.75)
    np.testing.assert_allclose(ex.artists["particles"].get_offsets(), ex.data["xs"][15].numpy())
    ex.update(t=0.25)
    assert ex.play.value == 5
    # k / steps * steps is not always k in floating point (0.29 * 100 = 28.999...): still frame k
    fine = W.flow_explorer(spin, randn(10, dtype=torch.float32), steps=100)
    fine.play.value = 29
    np.testing.assert_allclose(fine.artists["particles"].get_offsets(), fine.data["xs"][29].numpy())
    np.testing.assert_allclose(
        fine.artists["field"].U, -2 * 0.29 * P.grid(3.0, 20)[:, 1].numpy(), atol=1e-6
    )


def blit_differs(explorer):
    """Fraction of pixels where the blitted frame and a full redraw differ visibly."""
    explorer.draw()
    blitted = buffer(explorer)
    explorer.figure.canvas.draw()
    full = buffer(explorer)
    return (np.abs(blitted.astype(int) - full.astype(int)).max(-1) > 8).mean()


def test_blitted_frame_matches_a_full_redraw(flow):
    _, _, ex = flow
    ex.update(t=0.6)
    differs = blit_differs(ex)
    assert differs < 0.01, f"{differs:.2%} of the pixels differ"


def test_widget_bundle_has_png_fallback_classes_and_layout(flow):
    _, _, ex = flow
    ex.update(t=1.0)
    bundle = ex._repr_mimebundle_()
    assert WIDGET_MIME in bundle and "image/png" in bundle
    assert base64.b64decode(bundle["image/png"]) == ex.image.value
    assert {"fm-explorer", "fm-flow-explorer"} <= set(ex.widget._dom_classes)
    assert ex.image.format == "png"
    assert ex.shell.children[-1] is ex.image
    assert (
        ex.play in ex.shell.children[0].children
        and ex.controls["t"] in ex.shell.children[0].children
    )
    assert (
        isinstance(ex.figure, Figure) and ex.figure.canvas.__class__.__name__ == "FigureCanvasAgg"
    )


def test_animate_frames_and_timing_leave_state_alone(flow):
    _, _, ex = flow
    ex.update(t=0.3)
    before = ex.artists["particles"].get_offsets().copy()
    html = ex.animate(values=[0.0, 0.5, 1.0], interval_ms=50)
    assert (
        "<img" in html.data and "_anim_img" in html.data and html.data.count("data:image/png") >= 3
    )
    fig = ex.frames(values=[0.0, 0.5, 1.0])
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["t = 0.00", "t = 0.50", "t = 1.00"]
    times = W.frame_update_times(ex, "t", [0.1, 0.2, 0.3])
    render_only = W.frame_update_times(ex, "t", [0.1, 0.2, 0.3], encode=False)
    assert len(times) == 3 and all(s > 0 for s in times + render_only)
    assert ex.state["t"] == 0.3
    np.testing.assert_allclose(ex.artists["particles"].get_offsets(), before)


def test_flow_explorer_with_an_exact_density():
    v = fields.rotation(0.5)

    def log_p(x, t):  # N(0, (1 + t)^2 I), whatever the flow: only the wiring is tested here
        var = (1 + t) ** 2
        return -0.5 * (x**2).sum(1) / var - math.log(2 * math.pi * var)

    ex = W.flow_explorer(
        v, randn(20, dtype=torch.float32), lims=2.0, steps=10, density=log_p, density_n=30
    )
    ex.update(t=0.4)
    g = P.grid(2.0, 30)
    expected = np.exp(-0.5 * (g**2).sum(1).numpy() / 1.96) / (2 * math.pi * 1.96)
    np.testing.assert_allclose(
        ex.artists["density"].get_array(), expected.reshape(30, 30), rtol=1e-5
    )


def test_update_rejects_unknown_controls(flow):
    with pytest.raises(ValueError, match="unknown control"):
        flow[2].update(time=0.5)


@pytest.mark.parametrize(
    "args,kwargs,error,match",
    [
        (("not a field", torch.zeros(5, 2)), {}, TypeError, "vector field"),
        ((fields.rotation(), torch.zeros(5, 3)), {}, ValueError, "D = 2"),
        ((fields.rotation(), torch.zeros(5)), {}, ValueError, r"\(B, D\)"),
        ((fields.rotation(), torch.zeros(5, 2)), {"density": "p"}, TypeError, "density"),
        ((lambda x, t: x[:, :1], torch.zeros(5, 2)), {}, ValueError, "shaped like x"),
        ((fields.rotation(), torch.zeros(5, 2)), {"lims": "big"}, ValueError, "lims"),
    ],
)
def test_flow_explorer_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        W.flow_explorer(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# path_comparison
# --------------------------------------------------------------------------------------------


def test_path_comparison_points_and_metrics_match_closed_forms():
    x_0, x_1 = (
        randn(6, seed=1, dtype=torch.float32),
        randn(6, seed=2, scale=1.5, dtype=torch.float32) + torch.tensor([1.0, 0.0]),
    )
    a = 0.8
    ex = W.path_comparison(x_0, x_1, t=0.5, a=a, lims=4.0, frames=10)
    ex.update(t=0.3)
    t = 0.3
    got = {
        name: ex.artists[name].get_offsets()
        for name in ("linear", "OT-coupled", "VP diffusion", "curved")
    }
    np.testing.assert_allclose(got["linear"], ((1 - t) * x_0 + t * x_1).numpy(), atol=1e-6)
    # OT: brute force over all 720 pairings
    cost = torch.cdist(x_1, x_0).pow(2)
    best = min(
        itertools.permutations(range(6)), key=lambda p: float(sum(cost[j, p[j]] for j in range(6)))
    )
    x_0_ot = x_0[list(best)]
    np.testing.assert_allclose(got["OT-coupled"], ((1 - t) * x_0_ot + t * x_1).numpy(), atol=1e-6)
    # VP: alpha_t = exp(-T(1 - t) / 2), T(s) = beta_min s + (beta_max - beta_min) s^2 / 2
    s = 1 - t
    alpha = math.exp(-0.5 * (0.1 * s + 0.5 * 19.9 * s**2))
    sigma = math.sqrt(1 - alpha**2)
    np.testing.assert_allclose(got["VP diffusion"], (alpha * x_1 + sigma * x_0).numpy(), atol=1e-6)
    d = x_1 - x_0
    n_perp = torch.stack([-d[:, 1], d[:, 0]], 1) / d.norm(dim=1, keepdim=True)
    np.testing.assert_allclose(
        got["curved"], ((1 - t) * x_0 + t * x_1 + a * t * (1 - t) * n_perp).numpy(), atol=1e-6
    )
    assert "t = 0.30" in ex.artists["title"].get_text()
    # kinetic energy of the conditional paths: E||x_1 - x_0||^2, + a^2/3 for the bend, infinite for VP
    m = ex.data["metrics"]
    assert m["linear"]["energy"] == pytest.approx(float(d.pow(2).sum(1).mean()), rel=1e-5)
    assert m["OT-coupled"]["energy"] == pytest.approx(
        float((x_1 - x_0_ot).pow(2).sum(1).mean()), rel=1e-5
    )
    assert m["curved"]["energy"] == pytest.approx(
        float(d.pow(2).sum(1).mean()) + a**2 / 3, rel=1e-5
    )
    assert math.isinf(m["VP diffusion"]["energy"])
    assert m["OT-coupled"]["energy"] <= m["linear"]["energy"]
    assert {"fm-explorer", "fm-path-comparison"} <= set(ex.widget._dom_classes)
    with pytest.raises(ValueError, match="same shape"):
        W.path_comparison(x_0, x_1[:3])


def test_crossing_fraction_on_hand_made_lines():
    cross = np.array([[[0, 0], [1, 1]], [[0, 1], [1, 0]], [[5, 5], [6, 6]]], dtype=float)
    assert W.crossing_fraction(cross) == pytest.approx(1 / 3)
    # a bent polyline that crosses a vertical line only through its second segment
    bent = np.array([[[0, 0], [1, 0], [1, 2]], [[0.5, 1], [2, 1], [3, 1]]], dtype=float)
    assert W.crossing_fraction(bent) == 1.0
    parallel = np.array([[[0, 0], [1, 0]], [[0, 1], [1, 1]]], dtype=float)
    assert W.crossing_fraction(parallel) == 0.0


# --------------------------------------------------------------------------------------------
# divergence_explorer: the source/sink has a closed-form flow and density
# --------------------------------------------------------------------------------------------


def source_sink_solution(x_0, t, radius=1.5, strength=1.0):
    """r^2 = u obeys the logistic u' = 2 s u (1 - u/R^2); log p_t from the Jacobian du_t/du_0."""
    u0 = x_0.double().pow(2).sum(1)
    e = math.exp(2 * strength * t)
    den = radius**2 + u0 * (e - 1)
    u_t = radius**2 * u0 * e / den
    x_t = x_0.double() * (u_t / u0).sqrt()[:, None]
    log_p0 = -0.5 * u0 - math.log(2 * math.pi)
    log_det = math.log(radius**4 * e) - 2 * den.log()  # area element d^2x = du dtheta / 2
    return x_t, log_p0 - log_det


def test_divergence_explorer_colours_are_the_exact_log_density():
    ex = W.divergence_explorer(n=200, lims=2.5, steps=40, seed=3)
    x_0 = torch.randn(200, 2, generator=torch.Generator().manual_seed(3))
    ex.update(t=0.5)
    x_t, log_p = source_sink_solution(x_0, 0.5)
    np.testing.assert_allclose(ex.artists["particles"].get_offsets(), x_t.numpy(), atol=1e-4)
    np.testing.assert_allclose(ex.artists["particles"].get_array(), log_p.numpy(), atol=1e-4)
    np.testing.assert_allclose(ex.artists["marker"].get_xdata(), [0.5, 0.5])
    g = P.grid(2.5, 60)
    np.testing.assert_allclose(
        ex.artists["divergence"].get_array(),
        (2 - 4 * g.pow(2).sum(1) / 2.25).reshape(60, 60).numpy(),
        rtol=1e-5,
        atol=1e-5,
    )
    # the line plot: mean density of the particles inside / outside the circle, at t = 1
    x_1, log_p1 = source_sink_solution(x_0, 1.0)
    inside = x_1.norm(dim=1) < 1.5
    assert ex.artists["inside"].get_ydata()[-1] == pytest.approx(
        float(log_p1[inside].exp().mean()), rel=1e-4
    )
    assert ex.artists["outside"].get_ydata()[-1] == pytest.approx(
        float(log_p1[~inside].exp().mean()), rel=1e-4
    )
    # mass never crosses the circle, where v = 0
    assert torch.equal(inside, x_0.norm(dim=1) < 1.5)
    assert ex.play is not None and {"fm-divergence-explorer"} <= set(ex.widget._dom_classes)


# --------------------------------------------------------------------------------------------
# solver_explorer: a linear ODE, where Euler and RK4 steps have closed forms
# --------------------------------------------------------------------------------------------

A = torch.tensor([[-0.5, 1.0], [-1.0, -0.5]])


def matrix_field(x, t):
    return x @ A.T


def test_solver_explorer_matches_closed_form_steps():
    x_0 = randn(30, dtype=torch.float32)
    exact = x_0 @ torch.linalg.matrix_exp(A).T
    ex = W.solver_explorer(matrix_field, x_0, reference=exact, max_steps=16)
    png_0 = ex.image.value
    ex.update(method="euler", steps=10)
    euler = x_0 @ torch.linalg.matrix_power(torch.eye(2) + A / 10, 10).T
    np.testing.assert_allclose(ex.artists["samples"].get_offsets(), euler.numpy(), atol=1e-5)
    rms = float((euler - exact).pow(2).sum(1).mean().sqrt())
    assert f"NFE = 10\nRMS error = {rms:.4g}" == ex.artists["metrics"].get_text()
    assert ex.image.value != png_0
    ex.update(method="rk4", steps=5)
    h = A / 5
    taylor = torch.eye(2) + h + h @ h / 2 + h @ h @ h / 6 + h @ h @ h @ h / 24
    rk4 = x_0 @ torch.linalg.matrix_power(taylor, 5).T
    np.testing.assert_allclose(ex.artists["samples"].get_offsets(), rk4.numpy(), atol=1e-5)
    assert ex.artists["metrics"].get_text().startswith("NFE = 20\n")
    np.testing.assert_allclose(ex.artists["current"].get_xdata(), [20])
    ex.update(method="dopri5")
    assert ex.controls["steps"].disabled
    np.testing.assert_allclose(ex.artists["samples"].get_offsets(), exact.numpy(), atol=1e-3)


def test_solver_explorer_default_reference_and_bad_input():
    x_0 = randn(10, dtype=torch.float32)
    ex = W.solver_explorer(matrix_field, x_0, max_steps=4, curves=False)
    torch.testing.assert_close(
        ex.data["reference"], x_0 @ torch.linalg.matrix_exp(A).T, atol=1e-5, rtol=1e-5
    )
    with pytest.raises(ValueError, match="methods"):
        W.solver_explorer(matrix_field, x_0, methods=["leapfrog"])
    with pytest.raises(ValueError, match="reference"):
        W.solver_explorer(matrix_field, x_0, reference=torch.zeros(3, 2))


# --------------------------------------------------------------------------------------------
# hutchinson_explorer
# --------------------------------------------------------------------------------------------


def test_hutchinson_explorer_estimates_and_histogram():
    from fmlib.likelihood import divergence_hutchinson

    scale = torch.tensor([2.0, -0.5])

    def diagonal(x, t):  # Jacobian diag(2, -0.5): div v = 1.5 everywhere
        return x * scale

    x = randn(50, dtype=torch.float32)
    ex = W.hutchinson_explorer(diagonal, x, t=0.5, k_max=16, seed=7)
    ex.update(k=4)
    pts = ex.artists["points"].get_offsets()
    np.testing.assert_allclose(pts[:, 0], 1.5, rtol=1e-6)
    samples = divergence_hutchinson(
        diagonal, x, 0.5, k=16, generator=torch.Generator().manual_seed(7), return_samples=True
    )
    np.testing.assert_allclose(pts[:, 1], samples[:4].mean(0).numpy(), rtol=1e-5, atol=1e-6)
    counts, _ = np.histogram(pts[:, 1] - 1.5, bins=ex.data["edges"], density=True)
    np.testing.assert_allclose(ex.artists["histogram"].get_data().values, counts)
    rms_4 = float(np.sqrt(np.mean((pts[:, 1] - 1.5) ** 2)))
    ex.update(k=16)
    rms_16 = float(np.sqrt(np.mean((ex.artists["points"].get_offsets()[:, 1] - 1.5) ** 2)))
    assert rms_16 < rms_4
    # Rademacher probes give eps^T J eps = tr J exactly when J is diagonal: one probe suffices
    ex.update(probe="rademacher", k=1)
    np.testing.assert_allclose(ex.artists["points"].get_offsets()[:, 1], 1.5, rtol=1e-6)
    assert "k = 1\nmean error (± SE) = 0 ± 0" in ex.artists["metrics"].get_text()
    # not a "bias": the sample mean of the B errors, printed with its standard error s / sqrt(B)
    ex.update(probe="gaussian", k=2)
    err = torch.tensor(ex.artists["points"].get_offsets()[:, 1] - 1.5)
    mean, se = float(err.mean()), float(err.std() / math.sqrt(len(err)))
    assert f"mean error (± SE) = {mean:.3g} ± {se:.2g}\n" in ex.artists["metrics"].get_text()


# --------------------------------------------------------------------------------------------
# guidance_explorer
# --------------------------------------------------------------------------------------------


def test_guidance_explorer_solves_the_guided_field():
    torch.manual_seed(0)
    model = VectorFieldMLP(dim=2, hidden=16, depth=2, num_classes=3)
    x_0 = randn(40, dtype=torch.float32)
    ex = W.guidance_explorer(
        model, x_0=x_0, steps=4, method="midpoint", class_names=["a", "b", "c"]
    )
    png_0 = ex.image.value
    ex.update(y=2, w=3.0)

    def guided(x, t):  # v_null + w (v_y - v_null), written out here
        null = model(x, t, torch.full((len(x),), 3))
        return null + 3.0 * (model(x, t, torch.full((len(x),), 2)) - null)

    with torch.no_grad():
        expected = solve(guided, x_0, method="midpoint", steps=4).x
    np.testing.assert_allclose(ex.artists["samples"].get_offsets(), expected.numpy(), atol=1e-5)
    assert to_hex(ex.artists["samples"].get_facecolors()[0]).upper() == P.PALETTE[2].upper()
    assert ex.artists["title"].get_text() == "c, w = 3.00"
    assert ex.artists["metrics"].get_text().startswith("NFE = 8\n")
    assert ex.image.value != png_0
    with pytest.raises(ValueError, match="class-conditional"):
        W.guidance_explorer(VectorFieldMLP(hidden=8, depth=1))
    with pytest.raises(ValueError, match="class_names"):
        W.guidance_explorer(model, x_0=x_0, class_names=["a"])


# --------------------------------------------------------------------------------------------
# layering: no front end needed to import, no pyplot anywhere
# --------------------------------------------------------------------------------------------


def test_widgets_import_without_ipywidgets_and_never_import_pyplot():
    code = """
import sys
sys.modules["ipywidgets"] = None  # as if it were not installed
import torch
import fmlib.widgets as W
from fmlib import fields
try:
    W.flow_explorer(fields.rotation(), torch.zeros(3, 2))
except ImportError as err:
    assert "ipywidgets" in str(err)
else:
    raise AssertionError("expected ImportError without ipywidgets")
del sys.modules["ipywidgets"]
ex = W.flow_explorer(fields.rotation(), torch.randn(5, 2), steps=4)
ex.update(t=0.5)
ex.animate(values=[0.0, 1.0])
ex.frames(values=[0.0, 1.0])
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --------------------------------------------------------------------------------------------
# the scene contract: every explorer's blitted frame equals a full redraw; the README's example
# --------------------------------------------------------------------------------------------


def readme_scene():
    """The scene of the README's "How to add an explorer", executed from the README's own text."""
    import pathlib
    import re

    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("### How to add an explorer", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = {
        "x_0": randn(30, seed=1, dtype=torch.float32),
        "x_1": randn(30, seed=2, dtype=torch.float32) + 1.0,
    }
    exec(compile(code, "README.md", "exec"), env)
    return env


def readme_explorer():
    return readme_scene()["explorer"]


def guided_model():
    torch.manual_seed(0)
    return VectorFieldMLP(dim=2, hidden=16, depth=2, num_classes=3)


SCENES = {
    "readme": (readme_explorer, {"t": 0.7, "size": 20}),
    "flow": (lambda: W.flow_explorer(spin, randn(40, dtype=torch.float32), steps=20), {"t": 0.6}),
    "paths": (
        lambda: W.path_comparison(
            randn(8, seed=1, dtype=torch.float32), randn(8, seed=2, dtype=torch.float32), frames=10
        ),
        {"t": 0.8},
    ),
    "divergence": (lambda: W.divergence_explorer(n=100, steps=20), {"t": 0.7}),
    "solver": (
        lambda: W.solver_explorer(matrix_field, randn(20, dtype=torch.float32), max_steps=8),
        {"method": "rk4", "steps": 3},
    ),
    "hutchinson": (
        lambda: W.hutchinson_explorer(matrix_field, randn(50, dtype=torch.float32), k_max=8),
        {"k": 5, "probe": "rademacher"},
    ),
    "guidance": (
        lambda: W.guidance_explorer(guided_model(), n=50, steps=2),
        {"y": 1, "w": 3.0},
    ),
    "posterior": (
        lambda: W.posterior_explorer(randn(12, dtype=torch.float32), n=50, frames=10),
        {"t": 0.9, "x": -1.0},
    ),
    "diffusion": (
        lambda: W.diffusion_explorer(
            matrix_field,
            spin,
            randn(20, dtype=torch.float32),
            score=lambda x, t: -x,
            steps=8,
            sde_steps=16,
        ),
        {"t": 0.6, "sampler": "sde"},
    ),
}


@pytest.mark.parametrize("name", sorted(SCENES))
def test_every_blitted_frame_matches_a_full_redraw(name):
    make, changes = SCENES[name]
    ex = make()
    for key, value in changes.items():
        ex.update(**{key: value})
        differs = blit_differs(ex)
        assert differs < 0.002, f"{name}, {key} = {value}: {differs:.2%} of the pixels differ"


def test_a_scene_that_hides_a_change_is_caught():
    ex = readme_explorer()
    update = ex.scene.update
    ex.scene.update = lambda state: [*update(state)][:0]  # moves x_t and the title, returns nothing
    ex._track([])
    ex.update(t=0.9)
    assert blit_differs(ex) > 0.002


def test_readme_explorer_runs_as_written():
    env = readme_scene()
    ex = env["explorer"]
    assert isinstance(ex.scene, W.Scene) and ex.play is not None and ex.play.max == 50
    assert {"fm-explorer", "fm-interpolation"} <= set(ex.widget._dom_classes)
    ex.update(t=0.3, size=12)
    np.testing.assert_allclose(
        ex.artists["x_t"].get_offsets(), (0.7 * env["x_0"] + 0.3 * env["x_1"]).numpy(), atol=1e-6
    )
    assert ex.artists["x_t"].get_sizes().tolist() == [12]
    assert ex.artists["title"].get_text() == "x_t at t = 0.30"
    # the PNG is shown at its drawn width, shrunk only on narrow screens
    assert ex.image.layout.width == f"{round(ex.figure.bbox.width)}px"
    assert ex.image.layout.max_width == "100%"


def test_the_older_explorer_form_still_works():
    """Explorer(figure, render, controls, dynamic=...) as written before scenes: same shell."""

    fig, ax = P.new_figure()
    dots = P.draw_samples(ax, torch.zeros(3, 2))
    P.set_limits(ax, 2.0)

    def render(state):
        P.update_samples(dots, torch.full((3, 2), float(state["a"])))

    for dynamic in ([dots], None):  # blitted, or full redraws
        slider = ipywidgets.FloatSlider(value=0.0, min=-1.0, max=1.0, description="a")
        ex = W.Explorer(fig, render, {"a": slider}, kind="legacy", dynamic=dynamic)
        ex.update(a=0.5)
        np.testing.assert_allclose(dots.get_offsets(), 0.5)
        assert blit_differs(ex) == 0.0 and "fm-legacy" in ex.widget._dom_classes
    with pytest.raises(TypeError, match="render"):
        W.Explorer(fig, "render", {})
    with pytest.raises(TypeError, match="Scene"):
        W.Explorer("a scene")
