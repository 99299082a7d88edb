"""fmlib.runtime: the notebooks' opening check and closing budget."""

import pytest

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
