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


@pytest.mark.parametrize("name", ["flow", "paths", "divergence", "diffusion"])
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
