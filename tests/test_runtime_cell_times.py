"""fm.runtime.cell_times: each cell's CPU time at full speed, for `make cell-times`."""

from __future__ import annotations

import pytest

from fmlib import runtime


def test_cell_times_are_each_cells_cpu_time_divided_by_its_slowdown(monkeypatch):
    """Cells of 4 s and 6 s with probes reading 1, 3, 3: 4 / 2 and 6 / 3, in the order they ran.
    Uncorrected times, a wrong pairing or a lost cell give other lists."""
    readings = iter([1.0, 3.0, 3.0])
    monkeypatch.setattr(runtime, "machine_slowdown", lambda repeats=3: next(readings))
    clock = iter([10.0, 14.0, 20.0, 26.0])  # process_time, in call order
    runtime.configure(seed=0, verbose=False)
    monkeypatch.setattr(runtime.time, "process_time", lambda: next(clock))
    runtime._LOG.cells.clear()  # the configure cell's own share is not part of this test
    runtime._LOG.pre_run_cell()
    runtime._LOG.post_run_cell()
    runtime._LOG.pre_run_cell()
    runtime._LOG.post_run_cell()
    assert runtime.cell_times() == pytest.approx([2.0, 2.0])


def test_cell_times_needs_the_opening_cell(monkeypatch):
    monkeypatch.setattr(runtime, "_LOG", None)
    with pytest.raises(RuntimeError, match="configure"):
        runtime.cell_times()
