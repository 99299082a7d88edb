"""Notebook 6.6 in a real JupyterLab: Run All is clean and the digits explorer answers its dropdown.

The notebook is run once for this module (see ``notebook_runs.py``).
"""

from __future__ import annotations

import notebook_runs as nr

executed = nr.executed
screenshot_on_failure = nr.screenshot_on_failure

NOTEBOOK = "notebooks/6_6_digits.ipynb"

DIGITS = ".fm-explorer.fm-digits-explorer"


@nr.on_notebook(NOTEBOOK)
def test_notebook_runs_in_browser(executed):
    nr.check_runs_cleanly(executed)


@nr.on_notebook(NOTEBOOK)
def test_digits_explorer_answers_its_dropdown(executed):
    """A first picture after Run All; another digit (dropdown) redraws it."""
    run = executed
    nr.require_run(run)
    page = run.page
    nr.wait_explorer(run, DIGITS)
    pic = nr.picture(run, DIGITS)
    page.page.locator(f"{DIGITS} select").first.select_option(label="3")
    nr.new_picture(run, DIGITS, pic)
    page.wait_idle(30)
    page.screenshot(run.shot_name("digits-explorer"), DIGITS)
    assert page.errors() == []
