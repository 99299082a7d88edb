"""fmlib.runtime: the notebooks' opening check and closing budget."""

import numpy as np
import pytest
import torch

import fmlib as fm
from fmlib import runtime


def test_configure_accepts_this_release_and_refuses_another():
    major_minor = ".".join(fm.__version__.split(".")[:2])
    runtime.configure(seed=0, verbose=False, requires=major_minor)
    with pytest.raises(RuntimeError, match="make setup"):
        runtime.configure(seed=0, verbose=False, requires="0.0")
    with pytest.raises(TypeError, match="version string"):
        runtime.configure(seed=0, verbose=False, requires=0.2)


def test_finish_reports_cpu_time_and_memory_and_enforces_budgets(capsys):
    runtime.configure(seed=0, verbose=False)
    sum(i * i for i in range(200_000))  # some CPU time to count
    report = runtime.finish(budget_s=3600, memory_budget_mib=1e6)
    assert report["cpu s"] > 0
    assert 10 < report["peak MiB"] < 1e6  # a Python process with torch loaded holds tens of MiB
    assert "CPU" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="memory budget"):
        runtime.finish(budget_s=3600, memory_budget_mib=1.0)
    with pytest.raises(AssertionError, match="time budget"):
        runtime.finish(budget_s=-1.0)


def test_peak_memory_is_the_kernels_own_not_its_launchers():
    """A kernel started by a large process must not report that process's size (ru_maxrss does)."""
    import subprocess
    import sys

    import numpy as np

    ballast = np.ones(100_000_000)  # 800 MB held by the launching process
    code = "from fmlib import runtime; print(runtime.peak_memory_mib())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(child.stdout) < ballast.nbytes / 2**20 - 100  # a fresh Python + torch: far less


def test_the_probe_leaves_the_random_state_alone():
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    runtime.machine_slowdown()
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state[1])


@pytest.mark.parametrize(
    "probe_times, expected",
    [
        ((2.0, 3.0, 2.5), 2.5),  # the median of the three timings, in units of the reference
        ((1.5, 9.0, 1.2), 1.5),  # one slow outlier does not move it
        ((0.5, 0.4, 0.6), 1.0),  # a faster machine than the reference reads 1 (no speed-up credit)
        ((50.0, 60.0, 70.0), None),  # clipped at MAX_SLOWDOWN
    ],
)
def test_the_slowdown_is_the_median_probe_time_over_the_reference(
    monkeypatch, probe_times, expected
):
    # the clock is scripted: each probe call takes the given multiple of the reference time
    ticks, now = [], 0.0
    for multiple in probe_times:
        ticks += [now, now + multiple * runtime.PROBE_REFERENCE_S]
        now += 1.0
    clock = iter(ticks)
    monkeypatch.setattr(runtime, "_PROBE", lambda: None)
    monkeypatch.setattr(runtime.time, "process_time", lambda: next(clock))
    expected = runtime.MAX_SLOWDOWN if expected is None else expected
    assert runtime.machine_slowdown(repeats=3) == pytest.approx(expected, rel=1e-9)


def test_finish_divides_each_cells_cpu_time_by_the_slowdown_around_it(monkeypatch, capsys):
    """Two cells of known CPU time, probes reading 1, 3, 3: the first cell is corrected by the
    mean of its probes (2), the second by 3. A wrong pairing or no correction gives other sums."""
    readings = iter([1.0, 3.0, 3.0])
    monkeypatch.setattr(runtime, "machine_slowdown", lambda repeats=3: next(readings))
    clock = iter([10.0, 14.0, 20.0, 26.0, 26.0, 26.0, 26.0])  # process_time, in call order
    runtime.configure(seed=0, verbose=False)  # probe 1.0
    monkeypatch.setattr(runtime.time, "process_time", lambda: next(clock))
    runtime._LOG.pre_run_cell()  # 10
    runtime._LOG.post_run_cell()  # 14: cell of 4 s, probe 3.0 -> corrected by (1 + 3) / 2
    runtime._LOG.pre_run_cell()  # 20
    runtime._LOG.post_run_cell()  # 26: cell of 6 s, probe 3.0 -> corrected by 3
    runtime._LOG.pre_run_cell()  # 26: the closing cell, nothing spent yet
    runtime._START_CPU = 0.0
    report = runtime.finish(budget_s=5.0, memory_budget_mib=1e6)  # 4 / 2 + 6 / 3 = 4 <= 5
    assert report["cpu s at full speed"] == pytest.approx(4.0)
    assert report["slowdown"] == pytest.approx(10.0 / 4.0)
    assert "at full speed" in capsys.readouterr().out


def test_cells_run_in_ipython_are_timed_one_by_one():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_cell("from fmlib import runtime; runtime.configure(seed=0, verbose=False)")
        shell.run_cell("total = sum(i * i for i in range(300_000))")
        shell.run_cell("report = runtime.finish(budget_s=3600, memory_budget_mib=1e6)")
        assert len(runtime._LOG.cells) == 3  # the opening cell, the work, the closing cell
        report = shell.user_ns["report"]
        assert 0 < report["cpu s at full speed"] <= report["cpu s"]
        shell.run_cell("runtime.configure(seed=0, verbose=False)")  # a re-run replaces the hooks
        callbacks = shell.events.callbacks["post_run_cell"]
        assert callbacks == [runtime._LOG.post_run_cell]
    finally:  # no shell left behind for the tests that run after this one in the same process
        for event in ("pre_run_cell", "post_run_cell"):
            shell.events.callbacks[event].clear()
        InteractiveShell.clear_instance()


def test_ticks_inside_a_long_cell_count_the_busy_middle_and_leave_their_probe_out(monkeypatch):
    """A cell of 9 CPU s, quiet at both ends (probes 1.0) and busy in the middle (four ticks read
    3.0): corrected by (mean of the ends + the ticks) / 5 = 2.6, and the ticks' own probes (1 CPU s
    each here) left out. Without ticks it would count 9 s at full speed; with its probes, 13 s."""
    readings = iter([1.0, 3.0, 3.0, 3.0, 3.0, 1.0])
    cpu, wall = [0.0], [0.0]

    def probe(repeats=3):
        cpu[0] += 1.0  # what a probe costs
        return next(readings)

    monkeypatch.setattr(runtime, "machine_slowdown", probe)
    monkeypatch.setattr(runtime.time, "process_time", lambda: cpu[0])
    monkeypatch.setattr(runtime.time, "monotonic", lambda: wall[0])
    runtime.configure(seed=0, verbose=False)  # probe 1.0
    runtime._LOG.cells.clear()
    runtime._LOG.pre_run_cell()
    for _ in range(9):  # nine steps of one CPU second and one wall second each
        cpu[0] += 1.0
        wall[0] += 1.0
        runtime.tick()  # reads the probe at 2, 4, 6 and 8 s (TICK_EVERY_S = 2)
    runtime._LOG.post_run_cell()  # probe 1.0
    cpu_s, slowdown = runtime._LOG.cells[-1]
    assert cpu_s == pytest.approx(9.0)
    assert slowdown == pytest.approx((0.5 * (1.0 + 1.0) + 4 * 3.0) / 5)
    assert runtime.cell_times()[-1] == pytest.approx(9.0 / 2.6)


def test_fmlibs_loops_tick(monkeypatch):
    """A training step, a field evaluation in a solve and an exact W2 each read the clock."""
    ticks = []
    monkeypatch.setattr(runtime, "tick", lambda: ticks.append(1))
    g = torch.Generator().manual_seed(0)
    fm.solvers.solve(lambda x, t: -x, torch.zeros(4, 2), method="euler", steps=3)
    assert len(ticks) == 3, "each field evaluation of a solve ticks"
    ticks.clear()
    fm.ot.w2(torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g))
    assert ticks, "an exact W2 ticks"
    ticks.clear()
    data = fm.two_moons(64, torch.Generator().manual_seed(1))
    fm.training.train_cfm(fm.models.VectorFieldMLP(), data, steps=5, progress=False, batch_size=16)
    assert len(ticks) >= 5, "each training step ticks"


def test_tick_does_nothing_before_configure_or_between_cells(monkeypatch):
    calls = []
    monkeypatch.setattr(runtime, "machine_slowdown", lambda repeats=3: calls.append(1) or 1.0)
    monkeypatch.setattr(runtime, "_LOG", None)
    runtime.tick()
    assert calls == []
    runtime.configure(seed=0, verbose=False)
    runtime._LOG.post_run_cell()  # the opening cell has ended: no cell runs now
    calls.clear()
    monkeypatch.setattr(runtime.time, "monotonic", lambda: 1e9)
    runtime.tick()
    assert calls == []
