"""Notebook 6.4 in a real JupyterLab: the side-by-side diffusion explorer answers Play and its dropdown.

The notebook is run once for this module (see ``notebook_runs.py``): first that Run All is clean,
then each explorer test on the same page.
"""

from __future__ import annotations

import notebook_runs as nr

executed = nr.executed
screenshot_on_failure = nr.screenshot_on_failure

NOTEBOOK = "notebooks/6_4_flow_matching_and_diffusion.ipynb"
DIFFUSION = ".fm-explorer.fm-diffusion-explorer"


@nr.on_notebook(NOTEBOOK)
def test_notebook_runs_in_browser(executed):
    nr.check_runs_cleanly(executed)


@nr.on_notebook(NOTEBOOK)
def test_diffusion_explorer_plays_and_switches_sampler(executed):
    """Play runs t from 0.00 to 1.00 through the kernel; the reverse SDE (dropdown) redraws."""
    run = executed
    nr.require_run(run)
    page = run.page
    nr.wait_explorer(run, DIFFUSION)
    pic = nr.play_through(run, DIFFUSION, "0.00", "1.00")
    sampler = page.page.locator(f"{DIFFUSION} select").first
    assert sampler.input_value() == "probability-flow ODE"  # ipywidgets: option values are labels
    sampler.select_option("reverse SDE")
    nr.new_picture(run, DIFFUSION, pic)
    page.wait_idle(30)
    page.screenshot(run.shot_name("diffusion-explorer"), DIFFUSION)
    assert page.errors() == []
