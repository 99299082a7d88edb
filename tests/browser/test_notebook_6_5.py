"""Notebook 6.5 in a real JupyterLab: its solver and guidance explorers, drawn in the page,
answer their controls with no kernel round trip, and the kernel follows what they show.

The notebook is run once for this module (see ``notebook_runs.py``): first that Run All is clean,
then each explorer test on the same page. Each test leaves its explorer as the other does not depend on it.
"""

from __future__ import annotations

import notebook_runs as nr

executed = nr.executed
screenshot_on_failure = nr.screenshot_on_failure

NOTEBOOK = "notebooks/6_5_flow_matching_in_practice.ipynb"

SOLVER = ".fm-explorer.fm-solver-explorer"
GUIDANCE = ".fm-explorer.fm-guidance-explorer"
PATHS = ".fm-explorer.fm-path-comparison"


@nr.on_notebook(NOTEBOOK)
def test_notebook_runs_in_browser(executed):
    nr.check_runs_cleanly(executed)


@nr.on_notebook(NOTEBOOK)
def test_practice_explorers_are_shown(executed):
    """All three explorers of 6.5 are on the page with a first picture after Run All."""
    nr.require_run(executed)
    for selector in (PATHS, SOLVER, GUIDANCE):
        nr.wait_explorer(executed, selector)


def picture(run, selector, before=None):
    """The explorer's canvas (drawn in the page), once it differs from ``before``."""
    run.page.page.wait_for_function(
        """([sel, old]) => { const c = document.querySelector(sel)?.querySelector('canvas');
            return c && c.width && c.toDataURL() !== old; }""",
        arg=[selector, before],
        timeout=15_000,
    )
    return nr.client_picture(run, selector)[2]


@nr.on_notebook(NOTEBOOK)
def test_practice_solver_explorer(executed):
    """On the I-CFM field, in the page: RK4 (its button), fewer steps and the maximum (keyboard)
    each draw a new picture with no kernel round trip; the kernel's state follows."""
    run = executed
    nr.require_run(run)
    page = run.page
    pic = picture(run, SOLVER)
    assert nr.readout(run, SOLVER) == "8"
    buttons = page.page.locator(f"{SOLVER} .fm-client-option")
    assert buttons.first.get_attribute("aria-checked") == "true"  # euler
    page.page.locator(SOLVER).get_by_role("radio", name="rk4").click()
    pic = picture(run, SOLVER, pic)
    nr.client_step(run, SOLVER, "ArrowLeft")
    nr.wait_readout(run, SOLVER, "7")
    pic = picture(run, SOLVER, pic)
    page.page.locator(SOLVER).get_by_role("radio", name="dopri5").click()  # adaptive
    pic = picture(run, SOLVER, pic)
    page.page.locator(SOLVER).get_by_role("radio", name="euler").click()
    pic = picture(run, SOLVER, pic)
    nr.client_step(run, SOLVER, "End")
    nr.wait_readout(run, SOLVER, "16")
    picture(run, SOLVER, pic)
    nr.wait_kernel_state(run, "solver_view", {"method": "euler", "steps": 16})
    page.screenshot(run.shot_name("solver-explorer"), SOLVER)
    assert page.errors() == []


@nr.on_notebook(NOTEBOOK)
def test_practice_guidance_explorer(executed):
    """On the class-conditional model, in the page: the largest w (keyboard), the inner moon
    (its button) and w = 0 each draw a new picture; the kernel's state follows."""
    run = executed
    nr.require_run(run)
    page = run.page
    pic = picture(run, GUIDANCE)
    assert nr.readout(run, GUIDANCE) == "1.00"
    nr.client_step(run, GUIDANCE, "End")
    nr.wait_readout(run, GUIDANCE, "6.00")
    pic = picture(run, GUIDANCE, pic)
    page.page.locator(GUIDANCE).get_by_role("radio", name="inner moon").click()
    pic = picture(run, GUIDANCE, pic)
    nr.client_step(run, GUIDANCE, "Home")
    nr.wait_readout(run, GUIDANCE, "0.00")
    picture(run, GUIDANCE, pic)
    nr.wait_kernel_state(run, "guide_view", {"y": 1, "w": 0.0})
    page.screenshot(run.shot_name("guidance-explorer"), GUIDANCE)
    assert page.errors() == []
