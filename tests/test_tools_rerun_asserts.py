"""tools/rerun_asserts.py on a tiny synthetic notebook: it catches an assert cell that reads a name
a later cell rebinds, passes one that reads its own names, and resets the names before each re-run
(a plain re-run in order would hide the bug). One kernel per test: seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "rerun_asserts.py"


def _notebook(path: Path, cells: dict[str, str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for cell_id, source in cells.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.id = cell_id
        nb.cells.append(cell)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("A markdown cell: counted in cell numbers."))
    nbformat.write(nb, path)
    return path


def _run(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--no-progress", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


CELLS = {
    "setup": "data = [1, 2, 3]",
    # an assert cell that binds x itself: re-run just before "bug", it would restore x = 10
    "defines-x": "x = 10\nassert x > 0",
    "good": "assert sum(data) == 6, 'data changed'",
    "bug": "assert x == 10, 'x is not the value set above'",
    "rebinds-x": "x = -1  # a later section reuses the name",
}


def test_catches_the_rebinding_bug_and_only_it(tmp_path):
    code, out = _run(_notebook(tmp_path / "buggy.ipynb", CELLS))
    assert code == 1, out
    lines = [line for line in out.splitlines() if "fails" in line]
    assert len(lines) == 1, out
    assert (
        "cell 5 (bug) fails when re-run: AssertionError: x is not the value set above" in lines[0]
    )
    assert "3 assert cells re-run after the full run, 1 failed" in out


def test_own_names_pass_and_a_failing_full_run_is_reported(tmp_path):
    fixed = dict(CELLS, bug="x_checked = 10\nassert x_checked == 10")
    broken = {"setup": "data = [1, 2, 3]", "wrong": "assert sum(data) == 7, 'the sum is 6'"}
    code, out = _run(
        _notebook(tmp_path / "fixed.ipynb", fixed), _notebook(tmp_path / "broken.ipynb", broken)
    )
    assert code == 1, out
    assert "fixed.ipynb: 3 assert cells re-run after the full run, 0 failed" in out
    assert "broken.ipynb: cell 3 (wrong) fails in the full run: AssertionError: the sum is 6" in out
    assert "the full run failed" in out and "1 of 2 notebooks ok" in out
