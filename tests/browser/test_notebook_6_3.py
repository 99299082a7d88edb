"""Notebook 6.3 in a real JupyterLab: the posterior explorer answers Play and its x slider.

The notebook is run once for this module (see ``notebook_runs.py``): first that Run All is clean,
then each explorer test on the same page.
"""

from __future__ import annotations

import notebook_runs as nr

executed = nr.executed
screenshot_on_failure = nr.screenshot_on_failure

NOTEBOOK = "notebooks/6_3_mathematical_foundations.ipynb"
POSTERIOR = ".fm-explorer.fm-posterior-explorer"


@nr.on_notebook(NOTEBOOK)
def test_notebook_runs_in_browser(executed):
    nr.check_runs_cleanly(executed)


@nr.on_notebook(NOTEBOOK)
def test_posterior_explorer_plays_and_moves_x(executed):
    """Play runs t from 0.50 to 1.00 through the kernel; the x slider (keyboard) redraws too."""
    run = executed
    nr.require_run(run)
    page = run.page
    nr.wait_explorer(run, POSTERIOR)
    pic = nr.play_through(run, POSTERIOR, "0.50", "1.00")
    # the second slider is x (after t): one step right moves the query point by 0.05
    x_handle = page.page.locator(f"{POSTERIOR} .noUi-handle").nth(1)
    x_handle.focus()
    page.page.keyboard.press("ArrowRight")
    x_readout = page.page.locator(f"{POSTERIOR} .widget-readout").nth(1)
    page.page.wait_for_function(
        """(sel) => (document.querySelectorAll(sel + ' .widget-readout')[1]?.textContent || '')
            .trim() === '1.05'""",
        arg=POSTERIOR,
        timeout=15_000,
    )
    assert x_readout.inner_text().strip() == "1.05"
    nr.new_picture(run, POSTERIOR, pic)
    page.wait_idle(30)
    page.screenshot(run.shot_name("posterior-explorer"), POSTERIOR)
    assert page.errors() == []
