"""Notebook 6.5 in a real JupyterLab: its solver and guidance explorers answer their controls.

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


@nr.on_notebook(NOTEBOOK)
def test_practice_solver_explorer(executed):
    """On the I-CFM field: RK4 (dropdown), fewer steps and the maximum (keyboard) each redraw."""
    run = executed
    nr.require_run(run)
    page = run.page
    pic = nr.picture(run, SOLVER)
    method = page.page.locator(f"{SOLVER} select").first
    assert method.input_value() == "euler"
    assert nr.readout(run, SOLVER) == "8"
    method.select_option("rk4")
    pic = nr.new_picture(run, SOLVER, pic)
    page.slider_step(SOLVER, "ArrowLeft")
    nr.wait_readout(run, SOLVER, "7")
    pic = nr.new_picture(run, SOLVER, pic)
    method.select_option("dopri5")  # adaptive: the steps slider is disabled meanwhile
    pic = nr.new_picture(run, SOLVER, pic)
    method.select_option("euler")  # re-enables the slider; wait for the kernel's frame first
    pic = nr.new_picture(run, SOLVER, pic)
    page.slider_step(SOLVER, "End")
    nr.wait_readout(run, SOLVER, "16")
    nr.new_picture(run, SOLVER, pic)
    page.wait_idle(30)
    page.screenshot(run.shot_name("solver-explorer"), SOLVER)
    assert page.errors() == []


@nr.on_notebook(NOTEBOOK)
def test_practice_guidance_explorer(executed):
    """On the class-conditional model: the largest w (keyboard) and the inner moon each redraw."""
    run = executed
    nr.require_run(run)
    page = run.page
    pic = nr.picture(run, GUIDANCE)
    assert nr.readout(run, GUIDANCE) == "1.00"
    page.slider_step(GUIDANCE, "End")
    nr.wait_readout(run, GUIDANCE, "6.00")
    pic = nr.new_picture(run, GUIDANCE, pic)
    page.page.locator(f"{GUIDANCE} select").first.select_option(label="inner moon")
    pic = nr.new_picture(run, GUIDANCE, pic)
    page.slider_step(GUIDANCE, "Home")
    nr.wait_readout(run, GUIDANCE, "0.00")
    nr.new_picture(run, GUIDANCE, pic)
    page.wait_idle(30)
    page.screenshot(run.shot_name("guidance-explorer"), GUIDANCE)
    assert page.errors() == []
