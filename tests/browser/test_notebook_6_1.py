"""Notebook 6.1 in a real JupyterLab: it runs cleanly, and its three explorers and its animation
respond (Play, sliders, toggles).

Every notebook has a module like this one (``test_notebook_<section>.py``) so that each is run once in
the browser and the modules spread over the test workers; ``test_every_notebook_has_a_browser_module``
keeps that true. Screenshots: ``test-artifacts/<notebook>-*.png``.
"""

from __future__ import annotations

from pathlib import Path

import notebook_runs as nr
from lab import REPO_ROOT

# The fixtures, by name: one run per notebook (module scope); a screenshot when a test fails.
executed = nr.executed
screenshot_on_failure = nr.screenshot_on_failure

NB_6_1 = "notebooks/6_1_cnf_to_flow_matching.ipynb"

DIVERGENCE = ".fm-explorer.fm-divergence-explorer"
HUTCHINSON = ".fm-explorer.fm-hutchinson-explorer"
FLOW = ".fm-explorer.fm-flow-explorer"


def test_every_notebook_has_a_browser_module():
    """A new section notebook needs its own ``test_notebook_<section>.py`` (copy 6.2's)."""
    here = Path(__file__).parent
    for nb in (REPO_ROOT / "notebooks").glob("*.ipynb"):
        section = "_".join(nb.stem.split("_")[:2])  # 6_1_cnf_to_flow_matching -> 6_1
        module = here / f"test_notebook_{section}.py"
        assert module.is_file(), f"{nb.name} has no browser test: add {module.name}"
        assert f"notebooks/{nb.name}" in module.read_text(), (
            f"{module.name} does not open {nb.name}"
        )


@nr.on_notebook(NB_6_1)
def test_notebook_runs_in_browser(executed):
    nr.check_runs_cleanly(executed)


@nr.on_notebook(NB_6_1)
def test_6_1_divergence_explorer_plays(executed):
    """Drawn in the page: Play moves t from 0 to 1 by itself and redraws, the kernel idle."""
    run = executed
    nr.require_run(run)
    _, _, pic = nr.client_picture(run, DIVERGENCE)
    assert nr.readout(run, DIVERGENCE) == "0.00"
    nr.client_play(run, DIVERGENCE, end_state=50)
    nr.wait_readout(run, DIVERGENCE, "1.00")
    assert nr.client_picture(run, DIVERGENCE)[2] != pic
    assert "| Idle" in run.page.status_text()
    run.page.screenshot(run.shot_name("divergence-explorer"), DIVERGENCE)
    assert run.page.errors() == []


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
    """The flow explorer is drawn in the page: moving the t slider (keyboard) redraws the
    particles, the field and the density there, with no kernel round trip."""
    run = executed
    nr.require_run(run)
    page = run.page
    state, _, pic = nr.client_picture(run, FLOW)
    assert nr.readout(run, FLOW) == "0.00" and state == 0
    nr.client_step(run, FLOW, "ArrowRight")
    nr.wait_readout(run, FLOW, "0.02")
    state, _, new = nr.client_picture(run, FLOW)
    assert state == 1 and new != pic
    nr.client_step(run, FLOW, "End")
    nr.wait_readout(run, FLOW, "1.00")
    assert nr.client_picture(run, FLOW)[2] not in (pic, new)
    assert "| Idle" in page.status_text()
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
