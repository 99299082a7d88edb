"""The browser renderer (client.js) in Chromium, on a bare page (no JupyterLab, no kernel).

Each explorer drawn in the page must paint, at several states, the picture matplotlib draws for
that state (a full redraw, compared pixel by pixel with a tolerance for anti-aliasing), and not the
picture of another state; Play must advance through the states by itself, the keyboard must drive
Play and t, and nothing may log an error. The page is opened from ``file://`` with every request
outside it refused. Screenshots: ``test-artifacts/client-*.png``.
"""

from __future__ import annotations

import client_harness as H
import numpy as np
import pytest
import torch
from lab import ARTIFACTS_DIR

from fmlib import widgets as W

# at most this fraction of pixels may differ (blurred, by more than 24/255): the dots'
# anti-aliasing (Agg snaps markers to the pixel grid, the canvas does not); measured 0.3-0.9 %,
# and 2.4 % (paths) or 12 % (flow) between the pictures of t = 0 and t = 1
TOLERANCE = 0.012


def spin(x, t):
    return 2 * t * torch.stack([-x[:, 1], x[:, 0]], dim=1)


def explorer(name: str):
    """A small explorer of each kind drawn in the page, seeded."""
    g = torch.Generator().manual_seed(0)
    x_0, x_1 = torch.randn(200, 2, generator=g), torch.randn(64, 2, generator=g) + 1.0
    if name == "flow":
        return W.flow_explorer(spin, x_0, steps=20)
    if name == "paths":
        return W.path_comparison(x_0[:64], x_1, frames=10, max_lines=32)
    if name == "divergence":
        return W.divergence_explorer(n=300, steps=20)
    if name == "posterior":  # 11 x 11 x 21 states: x, y on a grid of 0.5, t in 20 steps
        return W.posterior_explorer(x_1[:24], x=(1.0, 0.5), n=300)
    if name == "solver":  # 5 methods x 12 step counts, on a spiral (a log-log error panel)
        return W.solver_explorer(
            lambda x, t: -x + 3 * t * torch.stack([-x[:, 1], x[:, 0]], 1), x_0, max_steps=12
        )
    if name == "guidance":  # 2 classes x 25 values of w, an untrained (seeded) model
        from fmlib.models import VectorFieldMLP

        torch.manual_seed(0)
        model = VectorFieldMLP(dim=2, hidden=16, depth=2, num_classes=2)
        return W.guidance_explorer(model, x_0=x_0, steps=4, class_names=["outer", "inner"])
    return W.diffusion_explorer(
        lambda x, t: x,  # grow: x_t = e^t x_0
        spin,
        x_0[:100],
        score=lambda x, t: -x,
        steps=10,
        sde_steps=20,
        generator=torch.Generator().manual_seed(1),
    )


@pytest.fixture(scope="module")
def context(lab, tmp_path_factory):
    """A fresh context of the session's Chromium (one Playwright per process)."""
    blocked = []
    ctx = lab.browser.new_context(viewport={"width": 1000, "height": 600}, device_scale_factor=1)

    def route(r):
        if r.request.url.startswith(("file:", "blob:", "data:")):
            return r.continue_()
        blocked.append(r.request.url)
        return r.abort()

    ctx.route("**/*", route)
    ctx.blocked = blocked
    ctx.folder = tmp_path_factory.mktemp("client")
    yield ctx
    ctx.close()


@pytest.mark.parametrize("name", ["flow", "paths", "divergence", "diffusion", "posterior"])
def test_canvas_paints_matplotlibs_picture_of_each_state(context, name):
    ex = explorer(name)
    page = H.open_explorer(context, ex, context.folder)
    steps = ex.scene.time.steps
    t_at = len(ex.controls) - 1  # the page orders the other controls first, t last
    shots, right = {}, []
    for k in (0, steps // 2, steps):
        H.show(page, t_at, k)
        shots[k] = H.composite(page)
        ref = H.reference(ex, {**ex.state, "t": k / steps})
        right.append(H.differs(shots[k], ref))
        assert right[-1] < TOLERANCE, (name, k, right[-1])
    # the comparison can fail: the picture of t = 1 is not that of t = 0
    wrong = H.differs(shots[steps], H.reference(ex, {**ex.state, "t": 0.0}))
    assert wrong > 2 * max(right), (name, wrong, right)
    if name == "diffusion":  # a toggle: the reverse SDE's own picture, at t = 1
        page.get_by_role("radio", name="reverse SDE").click()
        sde = H.composite(page)
        ref = H.reference(ex, {**ex.state, "t": 1.0, "sampler": "sde"})
        assert H.differs(sde, ref) < TOLERANCE, H.differs(sde, ref)
        assert H.differs(sde, shots[steps]) > 2 * max(right)
    if name == "posterior":  # the x and y sliders: the picture of that query point, at t = 1
        for i, value in ((0, 2), (1, 8)):  # x = -1.5, y = 1.5: as a drag sets the input
            page.locator("input.fm-client-slider").nth(i).evaluate(
                "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", value
            )
        moved = H.composite(page)
        ref = H.reference(ex, {**ex.state, "t": 1.0, "x": -1.5, "y": 1.5})
        assert H.differs(moved, ref) < TOLERANCE, H.differs(moved, ref)
        assert H.differs(moved, shots[steps]) > 2 * max(right)
        readouts = page.locator(".fm-client-root .widget-readout").all_inner_texts()
        assert readouts == ["-1.50", "1.50", "1.00"], readouts
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS_DIR / f"client-{name}.png"))
    H.composite_png(page, ARTIFACTS_DIR / f"client-{name}-composite.png")
    assert page.fm_errors == [] and context.blocked == []


# (state in the page's control order) for the explorers without a t axis
CHOICES = {
    "solver": [("euler", 1), ("rk4", 8), ("dopri5", 12), ("midpoint", 3)],
    "guidance": [(0, 0.0), (1, 6.0), (0, 3.0), (1, 1.0)],
}


@pytest.mark.parametrize("name", ["solver", "guidance"])
def test_canvas_paints_matplotlibs_picture_of_each_choice(context, name):
    """The step count / w slider and the method / class buttons, in the page: each choice is
    matplotlib's picture of that state, and not that of another."""
    ex = explorer(name)
    page = H.open_explorer(context, ex, context.folder)
    spec_controls = ex.widget.spec["controls"]
    keys = [c["key"] for c in spec_controls]
    shots, right = [], []
    for choice in CHOICES[name]:
        for i, value in enumerate(choice):
            H.show(page, i, spec_controls[i]["values"].index(value))
        shots.append(H.composite(page))
        ref = H.reference(ex, {**ex.state, **dict(zip(keys, choice, strict=True))})
        right.append(H.differs(shots[-1], ref))
        assert right[-1] < TOLERANCE, (name, choice, right[-1])
    first = H.reference(ex, {**ex.state, **dict(zip(keys, CHOICES[name][0], strict=True))})
    wrong = H.differs(shots[1], first)
    assert wrong > 2 * max(right), (name, wrong, right)
    # the controls as a student uses them: a button, then the slider by keyboard
    label = {"solver": "rk4", "guidance": "inner"}[name]
    page.get_by_role("radio", name=label).click()
    slider = page.locator("input.fm-client-slider").first
    slider.focus()
    page.keyboard.press("End")
    last = spec_controls[1]["values"][-1]
    assert page.inner_text(".fm-client-root .widget-readout") == spec_controls[1]["labels"][-1]
    value = {"solver": "rk4", "guidance": 1}[name]
    ref = H.reference(ex, {**ex.state, keys[0]: value, keys[1]: last})
    assert H.differs(H.composite(page), ref) < TOLERANCE
    page.wait_for_function("() => window.fmModel.saved.length >= 1")
    page.wait_for_timeout(300)
    ex.widget.index = page.evaluate("() => window.fmModel.saved.at(-1)")  # as the comm would
    assert ex.state[keys[0]] == value and ex.state[keys[1]] == last
    # no t: no Play, and the picture's label says what it is without promising the keys
    assert page.locator(".fm-client-play").count() == 0
    assert page.get_attribute(".fm-client-stage img", "alt").startswith(f"{name} explorer")
    assert "Space" not in page.get_attribute(".fm-client-stage", "aria-label")
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS_DIR / f"client-{name}.png"))
    assert page.fm_errors == [] and context.blocked == []


FPS_JS = """async (ms) => {
    const root = document.querySelector('.fm-client-root');
    const before = Number(root.dataset.draws);
    root.querySelector('.fm-client-play').click();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    const frames = Number(root.dataset.draws) - before, dt = performance.now() - t0;
    return {fps: 1000 * frames / dt, state: Number(root.dataset.state),
            playing: root.fmClient.playing()};
}"""


def test_play_advances_by_itself_and_the_keyboard_drives_it(context):
    ex = explorer("flow")
    page = H.open_explorer(context, ex, context.folder)
    page.check(".fm-client-trails")  # trails on: the heaviest drawing
    run = page.evaluate(FPS_JS, 800)
    assert run["playing"] and 0 < run["state"] < 20, run
    assert run["fps"] > 15, run  # a frame per animation frame, not one per 100 ms tick
    page.wait_for_function("() => !document.querySelector('.fm-client-root').fmClient.playing()")
    assert page.evaluate("() => document.querySelector('.fm-client-root').dataset.state") == "20"
    assert page.inner_text(".fm-client-root .widget-readout") == "1.00"
    stage = page.locator(".fm-client-stage")
    stage.focus()
    page.keyboard.press("Home")
    assert page.inner_text(".fm-client-root .widget-readout") == "0.00"
    page.keyboard.press("ArrowRight")
    assert page.inner_text(".fm-client-root .widget-readout") == "0.05"
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('.fm-client-root').fmClient.playing()")
    page.keyboard.press(" ")
    assert not page.evaluate("() => document.querySelector('.fm-client-root').fmClient.playing()")
    # the still keeps its alternative text; the stage says how to drive it
    assert page.get_attribute(".fm-client-stage img", "alt").startswith("flow explorer")
    assert "Space" in stage.get_attribute("aria-label")
    assert page.fm_errors == [] and context.blocked == []


def test_python_sets_the_state_the_page_shows(context):
    ex = explorer("paths")
    page = H.open_explorer(context, ex, context.folder)
    page.evaluate(
        "() => { window.fmModel.values.index = [7]; window.fmModel.handlers['change:index'](); }"
    )
    assert page.inner_text(".fm-client-root .widget-readout") == "0.70"
    assert np.isfinite(H.composite(page)).all()


def test_the_page_speaks_the_kernels_language(context):
    """With fm.configure(lang="zh") the page's own words are Chinese, in a CJK-capable font."""
    from fmlib import i18n

    i18n.set_language("zh")
    try:
        page = H.open_explorer(context, explorer("flow"), context.folder)
    finally:
        i18n.set_language("en")
    bar = page.inner_text(".fm-client-controls")
    assert "播放" in bar and "轨迹" in bar
    assert page.get_attribute(".fm-client-play", "aria-label") == "播放"
    assert "空格键：播放或暂停" in page.get_attribute(".fm-client-stage", "aria-label")
    family = page.evaluate(
        "() => getComputedStyle(document.querySelector('.fm-client-controls')).fontFamily"
    )
    assert "WenQuanYi Micro Hei" in family and family.endswith("sans-serif")
    page.screenshot(path=str(ARTIFACTS_DIR / "client-zh-flow.png"))
    assert page.fm_errors == [] and context.blocked == []


def test_the_page_reports_the_state_it_shows_to_the_kernel(context):
    """A slider moved in the page (keyboard, then Play to its end) is sent back as ``index``, a
    few messages rather than one per key; fed to the explorer as the comm would, its state and
    controls follow: ``explorer.state["t"]`` is what the student sees."""
    ex = explorer("posterior")
    page = H.open_explorer(context, ex, context.folder)
    x_slider = page.locator("input.fm-client-slider").nth(0)
    x_slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # x: 1.0 -> -0.5, three steps within REPORT_MS
    page.wait_for_function("() => window.fmModel.saved.length >= 1")
    page.wait_for_timeout(400)
    saved = page.evaluate("() => window.fmModel.saved")
    assert saved[-1] == [4, 6, 10] and len(saved) <= 2, saved  # x = -0.5, y = 0.5, t = 0.5
    page.locator(".fm-client-play").click()
    page.wait_for_function("() => !document.querySelector('.fm-client-root').fmClient.playing()")
    page.wait_for_function("() => window.fmModel.saved.at(-1)[2] === 20", timeout=5_000)
    view = ex.widget
    view.index = page.evaluate("() => window.fmModel.saved.at(-1)")  # what the comm delivers
    assert ex.state == {"t": 1.0, "x": -0.5, "y": 0.5}
    assert ex.controls["t"].value == 1.0 and ex.controls["x"].value == -0.5
    # the keyboard on the picture drives t, as in the other explorers; the still has its text
    stage = page.locator(".fm-client-stage")
    stage.focus()
    page.keyboard.press("Home")
    assert page.locator(".fm-client-root .widget-readout").all_inner_texts()[2] == "0.00"
    page.keyboard.press("ArrowRight")
    assert page.locator(".fm-client-root .widget-readout").all_inner_texts()[2] == "0.05"
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('.fm-client-root').fmClient.playing()")
    page.keyboard.press(" ")
    assert page.get_attribute(".fm-client-stage img", "alt").startswith("posterior explorer")
    assert "Space" in stage.get_attribute("aria-label")
    assert page.fm_errors == [] and context.blocked == []
