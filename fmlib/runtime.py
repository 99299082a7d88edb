"""Reproducible, fast set-up for notebooks and scripts: seeds, one torch thread, versions, a clock."""

from __future__ import annotations

import os
import platform
import random
import resource
import sys
import time

import numpy as np
import torch

__all__ = [
    "seed_everything",
    "configure",
    "elapsed",
    "finish",
    "peak_memory_mib",
    "saved_tensor_bytes",
    "timeit",
]

_START: float | None = None
_START_CPU: float | None = None


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch; return a fresh ``torch.Generator`` seeded with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2])


def configure(
    seed: int = 0, threads: int = 1, verbose: bool = True, *, requires: str | None = None
) -> dict:
    """Seed everything, pin torch to ``threads`` CPU threads and start the notebook clock.

    Tiny 2-D models run fastest on one thread: a second thread only adds synchronisation, and
    on a shared 2-core machine it was 3-8x slower whenever the other core was busy.

    ``requires="0.2"`` checks that the installed fmlib is the release a notebook was written for
    (same major.minor) and says how to fix it when it is not.
    """
    global _START, _START_CPU
    from . import __version__

    if requires is not None:
        if not isinstance(requires, str):
            raise TypeError(f"requires must be a version string like '0.2'; got {requires!r}")
        if _version_tuple(__version__) != _version_tuple(requires):
            raise RuntimeError(
                f"this notebook was written for fmlib {requires}, but fmlib {__version__} is "
                f"installed (from {os.path.dirname(__file__)}). Fix: from the repository root run "
                "`make setup`, or `pip install -e .`, then restart the kernel."
            )
    _START = time.perf_counter()
    _START_CPU = time.process_time()
    torch.set_num_threads(threads)
    seed_everything(seed)

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "fmlib": __version__,
        "device": "cpu",
        "torch threads": torch.get_num_threads(),
        "cpu cores": os.cpu_count(),
        "seed": seed,
    }
    if verbose:
        print("  ".join(f"{k}: {v}" for k, v in info.items()))
    return info


def elapsed() -> float:
    """Seconds since ``configure`` was called (the notebook's run time)."""
    if _START is None:
        raise RuntimeError("call fmlib.runtime.configure() first (the notebook's opening cell)")
    return time.perf_counter() - _START


def peak_memory_mib() -> float:
    """Peak resident memory of this process (the kernel) so far, in MiB.

    On Linux this is VmHWM from /proc: ``ru_maxrss`` would also count the process that launched
    the kernel (it survives fork and exec), so a kernel started by a large test process would
    report that process's size.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (
        peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    )  # bytes on macOS, KiB elsewhere


def finish(budget_s: float = 60.0, memory_budget_mib: float = 1024.0) -> dict:
    """The closing cell: print run time and peak memory, and check them against the budgets.

    The check is on CPU time, not wall time: a notebook's computation runs on one torch thread,
    so its CPU time is what it costs, while its wall time also counts whatever else the machine
    is doing (a class sharing one hub, a test run in parallel). Both are printed. CPU time is
    far steadier than wall time but not immune to load: on shared cores the same work takes
    about 20 % more CPU time with a second notebook running beside it (and up to 30 % more was
    seen in CI), so the course notebooks stay near 40 s to keep that margin under the 60 s budget.
    """
    if _START is None or _START_CPU is None:
        raise RuntimeError("call fmlib.runtime.configure() first (the notebook's opening cell)")
    report = {
        "wall s": time.perf_counter() - _START,
        "cpu s": time.process_time() - _START_CPU,
        "peak MiB": peak_memory_mib(),
    }
    print(
        f"notebook run time: {report['wall s']:.0f} s wall, {report['cpu s']:.0f} s CPU "
        f"(budget {budget_s:.0f} s); peak kernel memory {report['peak MiB']:.0f} MiB "
        f"(budget {memory_budget_mib:.0f} MiB)"
    )
    assert report["cpu s"] <= budget_s, f"over the time budget: {report['cpu s']:.0f} s CPU"
    assert report["peak MiB"] <= memory_budget_mib, (
        f"over the memory budget: {report['peak MiB']:.0f} MiB"
    )
    return report


def saved_tensor_bytes(fn) -> tuple[object, int]:
    """Run ``fn()`` and count the bytes autograd saves for the backward pass (activation memory).

    A deterministic stand-in for peak memory on a CPU: what back-propagation must keep alive.
    Returns (fn's result, bytes). Section 6.1.2.
    """
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    return result, total


def timeit(fn, repeat: int = 3, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs, after ``warmup`` untimed runs.

    Medians and ratios, not single timings: these machines are shared and noisy.
    """
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]
