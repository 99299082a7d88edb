"""Notebook 6.2 in a real JupyterLab: Run All is clean and its two explorers show a picture.

Its explorers' controls are tested on the fixture notebook (``test_explorers.py``).
"""

from __future__ import annotations

import notebook_runs as nr

executed = nr.executed
screenshot_on_failure = nr.screenshot_on_failure

NOTEBOOK = "notebooks/6_2_optimal_transport.ipynb"


@nr.on_notebook(NOTEBOOK)
def test_notebook_runs_in_browser(executed):
    nr.check_runs_cleanly(executed)
