"""Notebook 6.3 in a real JupyterLab: the posterior explorer, drawn in the page, answers Play,
its t slider and its x slider with no kernel round trip, and the kernel follows what it shows.

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


def readouts(run) -> list[str]:
    return [
        s.strip() for s in run.page.page.locator(f"{POSTERIOR} .widget-readout").all_inner_texts()
    ]


@nr.on_notebook(NOTEBOOK)
def test_posterior_explorer_plays_and_moves_x_in_the_page(executed):
    """x = (1, 0.5), t = 0.5 on the page's grid (x, y in steps of 0.5 over [-2.5, 2.5]; t in 20
    steps): Play runs t to 1.00 by itself; the x slider (keyboard) moves the query point to
    1.50; each is a new picture, and ``posterior_view.state`` in the kernel follows."""
    run = executed
    nr.require_run(run)
    page = run.page
    state, _, pic = nr.client_picture(run, POSTERIOR)
    assert readouts(run) == ["1.00", "0.50", "0.50"], readouts(run)
    assert state == (7 * 11 + 6) * 21 + 10  # x index 7, y index 6, t index 10
    fps = nr.client_play(run, POSTERIOR, end_state=(7 * 11 + 6) * 21 + 20)
    assert fps > 15, fps
    assert readouts(run)[2] == "1.00"
    nr.wait_kernel_state(run, "posterior_view", {"t": 1.0, "x": 1.0})
    x_slider = page.page.locator(f"{POSTERIOR} input.fm-client-slider").first
    x_slider.focus()
    page.page.keyboard.press("ArrowRight")
    assert readouts(run)[0] == "1.50"
    state, _, new = nr.client_picture(run, POSTERIOR)
    assert state == (8 * 11 + 6) * 21 + 20 and new != pic
    nr.wait_kernel_state(run, "posterior_view", {"t": 1.0, "x": 1.5, "y": 0.5})
    page.wait_idle(15)  # a report is a small message: the kernel is idle again at once
    page.screenshot(run.shot_name("posterior-explorer"), POSTERIOR)
    assert page.errors() == []
