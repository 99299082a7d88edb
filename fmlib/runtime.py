"""Reproducible, fast set-up for notebooks and scripts: seeds, one torch thread, versions, a clock."""

from __future__ import annotations

import os
import platform
import random
import time

import numpy as np
import torch

__all__ = ["seed_everything", "configure", "elapsed"]

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
