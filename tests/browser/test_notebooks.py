"""The course notebooks in a real JupyterLab: each runs without errors, and its explorers respond.

``test_notebook_runs_in_browser`` covers every ``notebooks/*.ipynb`` (new notebooks are picked up
without editing this file). Explorer-specific tests follow, one per explorer; they reuse the same
run of their notebook (see ``notebook_runs.py``), so each notebook is run once per session.
Screenshots: ``test-artifacts/<notebook>-*.png``.
"""

from __future__ import annotations

import notebook_runs as nr
from lab import REPO_ROOT

# The fixtures, by name: one run per notebook (module scope); a screenshot when a test fails.
executed = nr.executed
screenshot_on_failure = nr.screenshot_on_failure

NOTEBOOKS = sorted(f"notebooks/{p.name}" for p in (REPO_ROOT / "notebooks").glob("*.ipynb"))
NB_6_1 = "notebooks/6_1_cnf_to_flow_matching.ipynb"

DIVERGENCE = ".fm-explorer.fm-divergence-explorer"
HUTCHINSON = ".fm-explorer.fm-hutchinson-explorer"
FLOW = ".fm-explorer.fm-flow-explorer"


@nr.on_notebook(*NOTEBOOKS)
def test_notebook_runs_in_browser(executed):
    """Run All Cells finishes, with no error output, console error or page error; every explorer
    shows a picture and every to_jshtml animation its first frame."""
    run = executed
    assert run.run_error is None, run.run_error
    assert run.errors_after_run == []
    page = run.page
    page.page.wait_for_function(
        """() => [...document.querySelectorAll('.fm-explorer')]
            .every(e => !!e.querySelector('img')?.getAttribute('src'))""",
        timeout=30_000,
    )
    images = page.page.locator(".fm-explorer img")
    for i in range(images.count()):
        box = images.nth(i).bounding_box()
        assert box is not None and box["height"] > 50, f"explorer picture {i} is not shown"
    nr.wait_animations(run)
    page.screenshot(run.shot_name("window"))
    assert page.errors() == []


@nr.on_notebook(NB_6_1)
def test_6_1_divergence_explorer_plays(executed):
    """Play moves t from 0 to 1 through the kernel (Play -> link -> slider) and redraws."""
    run = executed
    nr.require_run(run)
    page = run.page
    pic = nr.picture(run, DIVERGENCE)
    assert nr.readout(run, DIVERGENCE) == "0.00"
    page.press_play(DIVERGENCE)
    nr.new_picture(run, DIVERGENCE, pic, timeout_s=30)
    assert float(nr.wait_readout_moved(run, DIVERGENCE, "0.00")) > 0.0
    # Play stops at its maximum (t = 1): wait for it, then for the kernel's last frame.
    nr.wait_readout(run, DIVERGENCE, "1.00", timeout_s=90)
    page.wait_idle(30)
    page.screenshot(run.shot_name("divergence-explorer"), DIVERGENCE)
    assert page.errors() == []


@nr.on_notebook(NB_6_1)
def test_6_1_hutchinson_explorer_probes(executed):
    """The number-of-probes slider k (keyboard) and the probe toggle each redraw the picture."""
    run = executed
    nr.require_run(run)
    page = run.page
    pic = nr.picture(run, HUTCHINSON)
    assert nr.readout(run, HUTCHINSON) == "1"
    page.slider_step(HUTCHINSON, "ArrowRight")
    nr.wait_readout(run, HUTCHINSON, "2")
    pic = nr.new_picture(run, HUTCHINSON, pic)
    page.slider_step(HUTCHINSON, "End")
    nr.wait_readout(run, HUTCHINSON, "64")
    pic = nr.new_picture(run, HUTCHINSON, pic)
    page.page.locator(HUTCHINSON).get_by_role("button", name="rademacher").click()
    nr.new_picture(run, HUTCHINSON, pic)
    page.wait_idle(30)
    page.screenshot(run.shot_name("hutchinson-explorer"), HUTCHINSON)
    assert page.errors() == []


@nr.on_notebook(NB_6_1)
def test_6_1_flow_explorer_slider(executed):
    """Moving the t slider (keyboard) redraws the particles and the density."""
    run = executed
    nr.require_run(run)
    page = run.page
    pic = nr.picture(run, FLOW)
    assert nr.readout(run, FLOW) == "0.00"
    page.slider_step(FLOW, "ArrowRight")
    nr.wait_readout(run, FLOW, "0.02")
    pic = nr.new_picture(run, FLOW, pic)
    page.slider_step(FLOW, "End")
    nr.wait_readout(run, FLOW, "1.00")
    nr.new_picture(run, FLOW, pic)
    page.wait_idle(30)
    page.screenshot(run.shot_name("flow-explorer"), FLOW)
    assert page.errors() == []


@nr.on_notebook(NB_6_1)
def test_6_1_divergence_animation_has_frames(executed):
    """The to_jshtml fallback of the divergence explorer shows a PNG frame (its script ran)."""
    run = executed
    nr.require_run(run)
    assert nr.wait_animations(run) == 1
    src = run.page.page.locator(nr.ANIMATION_IMG).first.get_attribute("src")
    assert src.startswith("data:image/png")
    run.page.screenshot(run.shot_name("animation"), nr.ANIMATION_IMG)
    assert run.page.errors() == []
