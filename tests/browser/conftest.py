"""Fixtures for the browser tests: one JupyterLab + Chromium per session, a fresh page per test.

Every test in this folder is marked ``browser`` and is skipped, with the reason, when Chromium,
Playwright, JupyterLab or ipywidgets is missing. ``FMLIB_CHROMIUM=none`` forces the skip;
``FMLIB_CHROMIUM=/path/to/chromium`` picks another browser. Deselect with ``-m "not browser"``.

The server's root is a temporary copy of ``notebooks/`` and ``tests/browser/fixtures/`` (opened as
``notebooks/<name>.ipynb`` and ``fixtures/<name>.ipynb``), so tests never touch the repository.
Screenshots go to ``test-artifacts/``; a failing test leaves ``test-artifacts/FAILED-<test>.png``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import lab as labmod
import pytest

HERE = Path(__file__).resolve().parent

# The fixture notebooks are opened by the browser tests, not collected by nbval.
collect_ignore = ["fixtures"]


def pytest_collection_modifyitems(config, items):
    reason = labmod.unavailable_reason()
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A running JupyterLab (root: temp copy of notebooks/ + fixtures/) and a headless Chromium."""
    reason = labmod.unavailable_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lab-root")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for src, name in [
        (labmod.REPO_ROOT / "notebooks", "notebooks"),
        (HERE / "fixtures", "fixtures"),
    ]:
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=ignore)
    with labmod.Lab(root) as running:
        yield running


@pytest.fixture
def lab_page(lab, request):
    """A fresh page (own browser context); its kernels are shut down after the test."""
    with lab.new_page() as page:
        yield page
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            page.screenshot(f"FAILED-{name}")
