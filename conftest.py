"""Repository-wide pytest hook for the notebook runs (nbval) under `make test`.

Keep what nbval executed: when every cell of a notebook has passed, the notebook with its
outputs is written to ``build/executed/<path>``, and the course site (tools/build_book.py
``--executed``) is built from these very outputs instead of running every notebook again.
Under pytest-xdist, `make test` uses ``--dist loadfile``: a notebook's cells share one kernel.
Before that kernel goes, it is asked for the state of the explorers drawn in the page
(``fmlib.widgets.client.STATE_CODE``), which goes into the notebook's metadata: the site keeps
those explorers live.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
EXECUTED = ROOT / "build" / "executed"


# A section notebook with a browser test (tests/browser/test_notebook_6_x.py) is run there, in
# JupyterLab, as a student runs it; that run writes build/executed/notebooks/<name>.ipynb too. So
# nbval leaves it out whenever the browser run is collected and a browser is there: each notebook
# runs once per `make test`. Without a browser (or with `-m "not browser"`), nbval runs it.
_BROWSER_RUN = re.compile(
    r"tests/browser/test_notebook_\d_\d\.py::test_notebook_runs_in_browser\[(.+)\]$"
)


def run_in_browser(nodeids: list[str], browser_available: bool) -> set[str]:
    """The notebooks (``notebooks/<stem>.ipynb``) whose browser run is among ``nodeids``."""
    if not browser_available:
        return set()
    return {f"notebooks/{m.group(1)}.ipynb" for n in nodeids if (m := _BROWSER_RUN.search(n))}


def _browser_available() -> bool:
    spec = importlib.util.spec_from_file_location("_fm_lab", ROOT / "tests" / "browser" / "lab.py")
    lab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lab)
    return lab.unavailable_reason() is None


# Under `--dist loadfile` a worker takes the next file when it is done with one, in collection
# order; a long file taken last keeps one worker busy while the other idles. So the files that
# run a whole notebook (a minute each) go first, the many short ones fill in after them.
LONG_FILES = re.compile(
    r"^(tests/browser/test_notebook_\d_\d\.py|zh/notebooks/6_.*\.ipynb|notebooks/6_.*\.ipynb"
    r"|tests/test_cache_notebook\.py|tests/hub/test_hub\.py|.*exercise_6_2_.*\.ipynb)$"
)


def long_files_first(nodeids: list[str]) -> list[int]:
    """The order (indices into ``nodeids``) that puts every file matching LONG_FILES first; each
    file's items stay together and in their order (a notebook's cells share one kernel)."""
    first_seen: dict[str, int] = {}
    for i, nodeid in enumerate(nodeids):
        first_seen.setdefault(nodeid.split("::")[0], i)

    def key(i: int) -> tuple[int, int]:
        path = nodeids[i].split("::")[0]
        return (0 if LONG_FILES.match(path) else 1, first_seen[path])

    return sorted(range(len(nodeids)), key=key)  # stable: order within a file is kept


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    once = run_in_browser([item.nodeid for item in items], _browser_available())
    dropped = [i for i in items if _is_notebook_cell(i) and i.nodeid.split("::")[0] in once]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in set(dropped)]
    order = long_files_first([item.nodeid for item in items])
    items[:] = [items[i] for i in order]


def _is_notebook_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if _is_notebook_cell(item) and report.when == "call":
        _keep_outputs(item, report)
    return report


def _keep_outputs(item, report) -> None:
    nb_file = item.parent
    state = nb_file.__dict__.setdefault("_fm_executed", {"failed": False, "cells": {}})
    state["failed"] |= not report.passed
    state["cells"][item.cell_num] = copy.deepcopy(getattr(item, "test_outputs", None) or [])
    code_cells = [c for c in nb_file.nb.cells if c.cell_type == "code"]
    if len(state["cells"]) < len(code_cells) or state["failed"]:
        return
    nb = copy.deepcopy(nb_file.nb)
    for cell_num, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.outputs = state["cells"][cell_num]  # nbval numbers the code cells only
        cell.execution_count = cell_num + 1
    state = _widget_state(nb_file)
    if state is not None:
        from fmlib.widgets.client import WIDGET_STATE

        nb.metadata["widgets"] = {WIDGET_STATE: state}
    target = EXECUTED / Path(str(nb_file.path)).resolve().relative_to(ROOT)
    target.parent.mkdir(parents=True, exist_ok=True)
    import nbformat

    nbformat.write(nb, target)


def _widget_state(nb_file, timeout_s: float = 60) -> dict | None:
    """The explorers' widget state, printed by nbval's kernel (None if it cannot say)."""
    from fmlib.widgets.client import STATE_CODE, parse_state

    kernel = getattr(nb_file, "kernel", None)
    if kernel is None:
        return None
    try:
        msg_id = kernel.execute_cell_input(STATE_CODE, allow_stdin=False)
        text = []
        while True:
            msg = kernel.get_message(stream="iopub", timeout=timeout_s)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = msg["content"]
            if msg["msg_type"] == "stream" and content.get("name") == "stdout":
                text.append(content["text"])
            elif msg["msg_type"] == "status" and content.get("execution_state") == "idle":
                break
        kernel.await_reply(msg_id, timeout=timeout_s)
    except Exception:  # the notebook's own result stands; the site then shows PNG stills
        return None
    return parse_state("".join(text))
