"""Shared set-up for the fmlib test suite: one torch thread, fixed seeds, reproducible hypothesis.

Every numerical test compares fmlib against a closed form derived again inside the test or an
independent referee (scipy, POT, torchdiffeq, scikit-learn), never against fmlib's own output.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

# Tiny tensors run fastest on one thread (and the suite must stay fast on a shared 2-core box).
torch.set_num_threads(1)

# Property tests: reproducible (same examples every run) and without per-example deadlines.
settings.register_profile(
    "fmlib",
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("fmlib")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every pyplot figure after each test, so that one test's leak cannot fail another."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


@pytest.fixture(autouse=True)
def _fixed_seeds():
    """Every test starts from the same global RNG state, whatever ran before it."""
    torch.manual_seed(0)
    np.random.seed(0)
    yield


def pytest_sessionstart(session):
    """In CI (FMLIB_REQUIRE_BROWSER=1) a missing browser is a failure, not a quiet skip."""
    import os

    if os.environ.get("FMLIB_REQUIRE_BROWSER") != "1":
        return
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "_fmlib_lab", Path(__file__).parent / "browser" / "lab.py"
    )
    lab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lab)
    reason = lab.unavailable_reason()
    if reason:
        pytest.exit(
            f"FMLIB_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}", returncode=1
        )
