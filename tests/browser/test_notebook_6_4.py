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
    """Drawn in the page: Play runs t from 0.00 to 1.00 with no kernel round trip; the reverse
    SDE (a toggle) shows its own picture."""
    run = executed
    nr.require_run(run)
    page = run.page
    nr.wait_explorer(run, DIFFUSION)
    _, _, pic = nr.client_picture(run, DIFFUSION)
    assert nr.readout(run, DIFFUSION) == "0.00"
    ode = page.page.locator(DIFFUSION).get_by_role("radio", name="probability-flow ODE")
    assert ode.get_attribute("aria-checked") == "true"
    steps = int(page.page.locator(f"{DIFFUSION} input.fm-client-slider").get_attribute("max"))
    nr.client_play(run, DIFFUSION, end_state=steps)
    nr.wait_readout(run, DIFFUSION, "1.00")
    _, _, ode_end = nr.client_picture(run, DIFFUSION)
    assert ode_end != pic
    page.page.locator(DIFFUSION).get_by_role("radio", name="reverse SDE").click()
    state, _, sde_end = nr.client_picture(run, DIFFUSION)
    assert state == 2 * steps + 1 and sde_end != ode_end  # the second sampler's t = 1
    page.wait_idle(30)  # the page reports its state in one small message; no redraw follows
    page.screenshot(run.shot_name("diffusion-explorer"), DIFFUSION)
    assert page.errors() == []
