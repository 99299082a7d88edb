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

from .i18n import t as _t

__all__ = [
    "seed_everything",
    "configure",
    "elapsed",
    "finish",
    "machine_slowdown",
    "peak_memory_mib",
    "saved_tensor_bytes",
    "tick",
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


# ---- How fast the machine is running right now -------------------------------------------------
# The course machines are virtual machines on shared hosts. Notebook 6.2, unchanged, measured 45
# and 39 s of CPU time on one machine within half an hour, and 63 s in one CI run: a busy neighbour
# on the host slows every instruction, and CPU time cannot tell that from more work. So a probe, a
# fixed small workload like the notebooks' own (forward and backward passes of a small MLP, an
# exact OT solve), is timed after every cell, and each cell's CPU time is divided by how much
# slower than usual the probe ran around it. On a quiet machine the factor is about 1 and the
# budget is close to plain CPU time.

# CPU seconds of the probe on a quiet course machine (2 cores, one torch thread): the fastest of
# 90 runs, 2026-11-29 (their median was 6.7 ms).
PROBE_REFERENCE_S = 6.2e-3
# The correction never exceeds this: a notebook that is slow for any other reason still fails.
MAX_SLOWDOWN = 3.0

_PROBE = None


def _build_probe():
    """The probe: fixed inputs from local generators (the global random state is never touched)."""
    import ot as pot

    g = torch.Generator().manual_seed(0)
    shapes = [(128, 34), (128, 128), (128, 128), (2, 128)]
    weights = [
        (torch.randn(s, generator=g, dtype=torch.float32) / s[1] ** 0.5).requires_grad_(True)
        for s in shapes
    ]
    x = torch.randn(256, 34, generator=g, dtype=torch.float32)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((200, 2)), rng.standard_normal((200, 2)) + 0.5
    cost, w = pot.dist(a, b), np.full(200, 1 / 200)

    def probe() -> None:
        with torch.enable_grad():
            for _ in range(3):
                h = x
                for i, weight in enumerate(weights):
                    h = h @ weight.T
                    if i < len(weights) - 1:
                        h = torch.nn.functional.silu(h)
                torch.autograd.grad(h.square().mean(), weights)
        pot.emd2(w, w, cost)

    return probe


def machine_slowdown(repeats: int = 3) -> float:
    """How many times slower than a quiet course machine this one runs right now, from the median
    of ``repeats`` timings of the probe, clipped to [1, MAX_SLOWDOWN]. About 20 ms of CPU time."""
    global _PROBE
    threads = torch.get_num_threads()
    try:
        if _PROBE is None:
            _PROBE = _build_probe()
            _PROBE()  # warm-up: first calls pay for lazy initialisation
        if threads != 1:
            torch.set_num_threads(1)
        times = []
        for _ in range(repeats):
            start = time.process_time()
            _PROBE()
            times.append(time.process_time() - start)
    except Exception:  # a probe must never break a notebook: no correction then
        return 1.0
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    ratio = float(np.median(times)) / PROBE_REFERENCE_S
    return min(max(ratio, 1.0), MAX_SLOWDOWN)


# Inside a long cell the machine can be busy for a while and quiet at both ends, where the probes
# before and after it run: the cell would be corrected too little. So fmlib's own loops (a training
# step, a field evaluation in a solve, an OT solve) call ``tick()``, which reads the probe again
# once every TICK_EVERY_S seconds of a running cell, in the notebook's own thread, and leaves the
# probe's CPU time out of the cell's.
TICK_EVERY_S = 2.0


class _CellLog:
    """CPU seconds of each cell since ``configure`` and the slowdown measured around and in it."""

    def __init__(self) -> None:
        self.cells: list[tuple[float, float]] = []  # (cpu s, slowdown)
        self.slowdown = machine_slowdown()  # the last probe's reading
        self.cell_start: float | None = time.process_time()
        self._begin_cell(self.slowdown)

    def _begin_cell(self, reading: float) -> None:
        self.readings = [reading]  # the probe before the cell, then each tick's
        self.probe_cpu_s = 0.0  # CPU time the ticks' probes spent inside this cell
        self.last_tick = time.monotonic()

    def pre_run_cell(self, *args) -> None:
        self.cell_start = time.process_time()
        self._begin_cell(self.slowdown)

    def tick(self) -> None:
        if self.cell_start is None or time.monotonic() - self.last_tick < TICK_EVERY_S:
            return
        start = time.process_time()
        self.readings.append(machine_slowdown())
        self.probe_cpu_s += time.process_time() - start
        self.last_tick = time.monotonic()

    def post_run_cell(self, *args) -> None:
        try:
            if self.cell_start is None:
                return
            cpu_s = time.process_time() - self.cell_start - self.probe_cpu_s
            self.cell_start = None
            after = machine_slowdown()
            readings = [*self.readings, after]
            if len(readings) == 2:
                self.cells.append((cpu_s, 0.5 * (readings[0] + after)))
            else:  # the ends count as one reading between them, each tick as one
                middle = readings[1:-1]
                self.cells.append(
                    (cpu_s, (0.5 * (readings[0] + after) + sum(middle)) / (len(middle) + 1))
                )
            self.slowdown = after
        except Exception:
            pass

    def full_speed_cpu_s(self) -> tuple[float, float]:
        """(CPU seconds at full speed, the mean slowdown they were corrected by), the current
        cell counted up to now at the mean of its readings so far."""
        cells = list(self.cells)
        if self.cell_start is not None:
            spent = time.process_time() - self.cell_start - self.probe_cpu_s
            cells.append((spent, sum(self.readings) / len(self.readings)))
        cpu = sum(c for c, _ in cells)
        full = sum(c / s for c, s in cells)
        return full, (cpu / full if full > 0 else 1.0)


def tick() -> None:
    """Called by fmlib's long-running loops: inside a notebook cell, read the machine's slowdown
    again when ``TICK_EVERY_S`` seconds have passed since the last reading (about 20 ms of CPU
    time, left out of the cell's). Costs one clock read otherwise; does nothing before
    ``configure`` or outside a cell."""
    log = _LOG
    if log is not None:
        log.tick()


_LOG: _CellLog | None = None


def _watch_cells() -> None:
    """Start a fresh cell log; in IPython, time every cell through its run-cell events."""
    global _LOG
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and _LOG is not None:  # configure() run again: replace the old hooks
        for event in ("pre_run_cell", "post_run_cell"):
            try:
                shell.events.unregister(event, getattr(_LOG, event))
            except ValueError:
                pass
    _LOG = _CellLog()
    if shell is not None:
        shell.events.register("pre_run_cell", _LOG.pre_run_cell)
        shell.events.register("post_run_cell", _LOG.post_run_cell)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2])


def configure(
    seed: int = 0,
    threads: int = 1,
    verbose: bool = True,
    *,
    requires: str | None = None,
    lang: str = "en",
) -> dict:
    """Seed everything, pin torch to ``threads`` CPU threads and start the notebook clock.

    Tiny 2-D models run fastest on one thread: a second thread only adds synchronisation, and
    on a shared 2-core machine it was 3-8x slower whenever the other core was busy.

    ``requires="0.3"`` checks that the installed fmlib is the release a notebook was written for
    (same major.minor) and says how to fix it when it is not.

    ``lang="zh"`` makes what fmlib prints and draws Chinese (:mod:`fmlib.i18n`); English is the
    default.
    """
    global _START, _START_CPU
    from . import __version__, i18n

    i18n.set_language(lang)

    if requires is not None:
        if not isinstance(requires, str):
            raise TypeError(f"requires must be a version string like '0.2'; got {requires!r}")
        if _version_tuple(__version__) != _version_tuple(requires):
            raise RuntimeError(
                _t(
                    "this notebook was written for fmlib {requires}, but fmlib {version} is "
                    "installed (from {where}). Fix: from the repository root run "
                    "`make setup`, or `pip install -e .`, then restart the kernel.",
                    requires=requires,
                    version=__version__,
                    where=os.path.dirname(__file__),
                )
            )
    torch.set_num_threads(threads)
    _watch_cells()
    _START = time.perf_counter()
    _START_CPU = time.process_time()
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
        shown = {
            "device": _t("device"),
            "torch threads": _t("torch threads"),
            "cpu cores": _t("cpu cores"),
            "seed": _t("seed"),
        }
        print("  ".join(f"{shown.get(k, k)}: {v}" for k, v in info.items()))
    return info


def elapsed() -> float:
    """Seconds since ``configure`` was called (the notebook's run time)."""
    if _START is None:
        raise RuntimeError(_t("call fmlib.runtime.configure() first (the notebook's opening cell)"))
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

    The time check is on CPU time, not wall time: a notebook's computation runs on one torch
    thread, so its CPU time is what it costs, while its wall time also counts whatever else the
    machine is doing (a class sharing one hub, a test run in parallel). Both are printed. On a
    shared host even CPU time stretches when a neighbour is busy, so each cell's CPU time is
    divided by the slowdown the probe measured around it and, in a long cell, inside it
    (``machine_slowdown`` read before and after each cell and by ``tick()`` every
    ``TICK_EVERY_S`` seconds within one; never more than ``MAX_SLOWDOWN``): the budget applies to the CPU time at full speed, which on a quiet machine
    is close to the CPU time itself.
    """
    if _START is None or _START_CPU is None or _LOG is None:
        raise RuntimeError(_t("call fmlib.runtime.configure() first (the notebook's opening cell)"))
    full_speed, slowdown = _LOG.full_speed_cpu_s()
    report = {
        "wall s": time.perf_counter() - _START,
        "cpu s": time.process_time() - _START_CPU,
        "cpu s at full speed": full_speed,
        "slowdown": slowdown,
        "peak MiB": peak_memory_mib(),
    }
    print(
        _t(
            "notebook run time: {wall:.0f} s wall, {cpu:.0f} s CPU, {full:.0f} s at full speed "
            "(the machine ran {slowdown:.2f}x slower than when quiet; budget {budget:.0f} s); "
            "peak kernel memory {peak:.0f} MiB (budget {memory_budget:.0f} MiB)",
            wall=report["wall s"],
            cpu=report["cpu s"],
            full=full_speed,
            slowdown=slowdown,
            budget=budget_s,
            peak=report["peak MiB"],
            memory_budget=memory_budget_mib,
        )
    )
    assert full_speed <= budget_s, _t(
        "over the time budget: {full:.0f} s CPU at full speed ({cpu:.0f} s measured, the machine "
        "{slowdown:.2f}x slower than when quiet)",
        full=full_speed,
        cpu=report["cpu s"],
        slowdown=slowdown,
    )
    assert report["peak MiB"] <= memory_budget_mib, _t(
        "over the memory budget: {peak:.0f} MiB", peak=report["peak MiB"]
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


def cell_times() -> list[float]:
    """CPU seconds at full speed of each cell run since ``configure``, in the order they ran.

    The first entry is the rest of the cell that called ``configure``. Used by
    ``tools/cell_times.py`` (``make cell-times``) to find the slow cells of a notebook.
    """
    if _LOG is None:
        raise RuntimeError(_t("call fmlib.runtime.configure() first (the notebook's opening cell)"))
    return [cpu_s / slowdown for cpu_s, slowdown in _LOG.cells]


class _SavedTensor:
    """A tensor autograd saved, counted while alive: ``box`` is [live bytes, peak bytes]."""

    __slots__ = ("tensor", "nbytes", "box")

    def __init__(self, tensor: torch.Tensor, box: list[int]):
        self.tensor, self.nbytes, self.box = tensor, tensor.numel() * tensor.element_size(), box
        box[0] += self.nbytes
        box[1] = max(box[1], box[0])

    def __del__(self) -> None:
        self.box[0] -= self.nbytes


def saved_tensor_peak_bytes(fn) -> tuple[object, int]:
    """Run ``fn()`` and return (its result, the peak bytes autograd held saved at any one time).

    Unlike ``saved_tensor_bytes`` (the total saved, which never sees a graph built and freed
    inside the backward pass), this follows every saved tensor until autograd frees it, so give
    it the forward *and* the backward pass: ``lambda: loss(solve(...)).backward()``. For the
    adjoint method the forward solve keeps no graph and the backward solve builds one small graph
    per evaluation and frees it, so its peak stays about one evaluation's worth for any number of
    steps; back-propagation's peak is the whole solve's graph. Section 6.1.2.
    """
    box = [0, 0]
    with torch.autograd.graph.saved_tensors_hooks(
        lambda t: _SavedTensor(t, box), lambda s: s.tensor
    ):
        result = fn()
    return result, box[1]
