"""A notebook run from FMLIB_CACHE shows the same figures and numbers as one that trained live.

Notebook 6.3 trains several networks; it runs twice in fresh kernels with one cache folder: the
first run trains and saves, the second loads every training call. Every code cell's text and
every figure (PNG bytes) must agree, except the lines that report time (and the closing cell,
which reports this run's time and memory).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "6_3_mathematical_foundations.ipynb"
TIMING = re.compile(r"run time|\bs wall\b|\bs CPU\b|loaded the trained weights|it/s|s/it")


def _run(folder: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {**os.environ, "FMLIB_CACHE": str(folder), "OMP_NUM_THREADS": "1"}
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.km = client.create_kernel_manager()
    client.km.extra_env = env  # honoured by jupyter_client's KernelManager.start_kernel
    saved = dict(os.environ)
    os.environ.update(env)  # and for kernel managers that read the parent's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def _shown(nb) -> list[tuple[str, list]]:
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "runtime.finish" in cell.source:
            continue  # the closing cell reports this run's time and memory
        seen = []
        for o in cell.get("outputs", []):
            if o.get("name") == "stderr":
                continue  # progress bars
            text = o.get("text") or o.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            seen.append([line for line in text.splitlines() if not TIMING.search(line)])
            if "image/png" in o.get("data", {}):
                seen.append(o["data"]["image/png"])
        out.append((cell.get("id", ""), seen))
    return out


@pytest.mark.slow
def test_a_notebook_loaded_from_the_cache_shows_what_the_live_run_showed(tmp_path):
    folder = tmp_path / "cache"
    live = _run(folder)
    assert list(folder.glob("*.pt")), "the live run saved no trained model"
    loaded = _run(folder)
    for (cell_id, a), (_, b) in zip(_shown(live), _shown(loaded), strict=True):
        assert a == b, f"cell {cell_id} shows something else when loaded from the cache"
