"""Helpers shared by the tests: the paths under test and small independent references."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from fmlib import paths

BETA_MIN, BETA_MAX = 0.1, 20.0

# (id, factory): every conditional path in fmlib, built fresh for each test.
PATHS = {
    "linear": lambda: paths.linear_path(0.0),
    "linear-smin0.1": lambda: paths.linear_path(0.1),
    "cosine": paths.cosine_path,
    "vp": lambda: paths.vp_path(BETA_MIN, BETA_MAX),
    "curved-0.7": lambda: paths.CurvedPath(0.7),
    "curved--1.5": lambda: paths.CurvedPath(-1.5),
}
AFFINE_PATHS = {k: v for k, v in PATHS.items() if not k.startswith("curved")}


def affine_coefficients(name: str, t: float) -> tuple[float, float, float, float]:
    """alpha_t, sigma_t and their t-derivatives, written out again from the chapter's formulas."""
    if name == "linear":
        return t, 1 - t, 1.0, -1.0
    if name == "linear-smin0.1":
        return t, 1 - 0.9 * t, 1.0, -0.9
    if name == "cosine":
        c = 0.5 * math.pi
        return math.sin(c * t), math.cos(c * t), c * math.cos(c * t), -c * math.sin(c * t)
    if name == "vp":
        s = 1 - t  # diffusion time
        big_t = BETA_MIN * s + 0.5 * (BETA_MAX - BETA_MIN) * s**2
        alpha = math.exp(-0.5 * big_t)
        sigma = math.sqrt(1 - alpha**2)
        beta = BETA_MIN + s * (BETA_MAX - BETA_MIN)
        d_alpha = 0.5 * beta * alpha  # d/dt exp(-T(1-t)/2) = +beta(1-t)/2 * alpha
        d_sigma = -alpha * d_alpha / sigma if sigma > 0 else -math.inf  # infinite at t = 1
        return alpha, sigma, d_alpha, d_sigma
    raise KeyError(name)


def fit_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def generator(seed: int) -> torch.Generator:
    """A fresh torch generator seeded with ``seed``: every test draws its own, independent numbers."""
    return torch.Generator().manual_seed(seed)


def randn(n: int, d: int = 2, seed: int = 0, scale: float = 1.0, dtype=torch.float64) -> Tensor:
    """``scale`` times n draws from N(0, I_d), (n, d), from a generator seeded with ``seed``."""
    return scale * torch.randn(n, d, generator=generator(seed), dtype=dtype)


def tool(name: str):
    """``tools/<name>.py`` as a module (tools/ is no package), registered under ``name`` so that
    its dataclasses resolve."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
