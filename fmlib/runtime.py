"""Reproducible, fast set-up for notebooks and scripts: seeds, one torch thread, versions, a clock."""

from __future__ import annotations

import os
import platform
import random
import time

import numpy as np
import torch

__all__ = ["seed_everything", "configure", "elapsed", "saved_tensor_bytes", "timeit"]

_START: float | None = None


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch; return a fresh ``torch.Generator`` seeded with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def configure(seed: int = 0, threads: int = 1, verbose: bool = True) -> dict:
    """Seed everything, pin torch to ``threads`` CPU threads and start the notebook clock.

    Tiny 2-D models run fastest on one thread: a second thread only adds synchronisation, and
    on a shared 2-core machine it was 3-8x slower whenever the other core was busy.
    """
    global _START
    _START = time.perf_counter()
    torch.set_num_threads(threads)
    seed_everything(seed)
    from . import __version__

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
