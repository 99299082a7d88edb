"""Conditional probability paths x_t | (x_0, x_1) and their velocities u_t(x_t | x_0, x_1).

An affine path is x_t = alpha_t x_1 + sigma_t x_0, so the conditional velocity is
u_t = d_alpha_t x_1 + d_sigma_t x_0 (Sections 6.1.4 and 6.3.3). A scheduler returns the four
coefficients together; linear (CondOT), cosine and variance-preserving diffusion paths are one
idea with different coefficients (Section 6.5.1). The curved path of Exercise 6.2 is not affine
but has the same ``sample(x_0, x_1, t) -> PathSample`` interface.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from ._validate import as_time, check_points, check_same_shape

__all__ = [
    "PathSample",
    "SchedulerOutput",
    "LinearScheduler",
    "CosineScheduler",
    "VPScheduler",
    "AffinePath",
    "CurvedPath",
    "linear_path",
    "cosine_path",
    "vp_path",
]


class PathSample(NamedTuple):
    """One draw from a conditional path: x_0, x_1, x_t, u_t: (B, D); t: (B,)."""

    x_0: Tensor
    x_1: Tensor
    t: Tensor
    x_t: Tensor
    u_t: Tensor


class SchedulerOutput(NamedTuple):
    alpha_t: Tensor
    sigma_t: Tensor
    d_alpha_t: Tensor
    d_sigma_t: Tensor


class LinearScheduler:
    """alpha_t = t, sigma_t = 1 - (1 - sigma_min) t: the straight (CondOT) path. Section 6.1.4.

    With ``sigma_min > 0`` the path ends in N(x_1, sigma_min^2 I) rather than a point, the
    smoothing of Lipman et al. (2023).
    """

    def __init__(self, sigma_min: float = 0.0):
        if not 0.0 <= sigma_min < 1.0:
            raise ValueError(f"sigma_min must lie in [0, 1); got {sigma_min!r}")
        self.sigma_min = float(sigma_min)

    def __call__(self, t: Tensor) -> SchedulerOutput:
        one = torch.ones_like(t)
        return SchedulerOutput(t, 1 - (1 - self.sigma_min) * t, one, -(1 - self.sigma_min) * one)

    def __repr__(self) -> str:
        return f"LinearScheduler(sigma_min={self.sigma_min})"


class CosineScheduler:
    """alpha_t = sin(pi t / 2), sigma_t = cos(pi t / 2): a variance-preserving trigonometric path."""

    def __call__(self, t: Tensor) -> SchedulerOutput:
        angle = 0.5 * math.pi * t
        return SchedulerOutput(
            angle.sin(), angle.cos(), 0.5 * math.pi * angle.cos(), -0.5 * math.pi * angle.sin()
        )

    def __repr__(self) -> str:
        return "CosineScheduler()"


class VPScheduler:
    """The variance-preserving diffusion path in flow-matching time (noise at t = 0). Section 6.4.

    With diffusion time s = 1 - t and beta(s) = beta_min + s (beta_max - beta_min):
    alpha_t = exp(-T(1 - t) / 2), T(s) = int_0^s beta, and sigma_t = sqrt(1 - alpha_t^2).
    alpha_0 is small but not zero (about 0.0066 for the defaults), as in score-based models.
    """

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0):
        if not 0 <= beta_min <= beta_max:
            raise ValueError(f"need 0 <= beta_min <= beta_max; got {beta_min!r}, {beta_max!r}")
        self.beta_min, self.beta_max = float(beta_min), float(beta_max)

    def beta(self, s: Tensor) -> Tensor:
        """beta(s) in diffusion time s = 1 - t."""
        return self.beta_min + s * (self.beta_max - self.beta_min)

    def __call__(self, t: Tensor) -> SchedulerOutput:
        s = 1 - t
        big_t = self.beta_min * s + 0.5 * (self.beta_max - self.beta_min) * s**2
        alpha_t = torch.exp(-0.5 * big_t)
        sigma_t = torch.sqrt((1 - alpha_t**2).clamp_min(0))
        d_alpha_t = 0.5 * self.beta(s) * alpha_t  # d/dt = -d/ds
        d_sigma_t = -alpha_t * d_alpha_t / sigma_t  # from alpha^2 + sigma^2 = 1; infinite at t = 1
        return SchedulerOutput(alpha_t, sigma_t, d_alpha_t, d_sigma_t)

    def __repr__(self) -> str:
        return f"VPScheduler(beta_min={self.beta_min}, beta_max={self.beta_max})"


class AffinePath:
    """x_t = alpha_t x_1 + sigma_t x_0 with u_t = d_alpha_t x_1 + d_sigma_t x_0. Section 6.3.1."""

    def __init__(self, scheduler=None, name: str | None = None):
        self.scheduler = scheduler if scheduler is not None else LinearScheduler()
        self.name = name or type(self.scheduler).__name__.replace("Scheduler", "").lower()

    def coefficients(self, t: object, like: Tensor) -> SchedulerOutput:
        """alpha_t, sigma_t, d_alpha_t, d_sigma_t: the path's coefficients at t, as (B, 1) columns
        ready to multiply (B, D) points like ``like``; every module reads them through here."""
        t = as_time(t, like.shape[0], like)
        return SchedulerOutput(*(c[:, None] for c in self.scheduler(t)))

    def sample(self, x_0: Tensor, x_1: Tensor, t: object) -> PathSample:
        """x_t and u_t(x_t | x_0, x_1) for x_0, x_1: (B, D) and t: float or (B,). Section 6.3.3."""
        check_points(x_0, "x_0", finite=False)
        check_points(x_1, "x_1", finite=False)
        check_same_shape(x_0, x_1)
        t = as_time(t, x_0.shape[0], x_0)
        alpha_t, sigma_t, d_alpha_t, d_sigma_t = self.coefficients(t, x_0)  # each (B, 1)
        x_t = alpha_t * x_1 + sigma_t * x_0
        u_t = d_alpha_t * x_1 + d_sigma_t * x_0
        return PathSample(x_0, x_1, t, x_t, u_t)

    def __repr__(self) -> str:
        return f"AffinePath({self.scheduler!r})"


class CurvedPath:
    """Exercise 6.2's curved path: x_t = (1-t) x_0 + t x_1 + a t (1-t) n_perp (2-D only).

    n_perp is the unit vector perpendicular to x_1 - x_0 (rotated +90 degrees), so
    u_t = x_1 - x_0 + a (1 - 2t) n_perp. ``a = 0`` gives back the straight path.
    """

    def __init__(self, a: float = 1.0):
        self.a = float(a)
        self.name = "curved"

    def sample(self, x_0: Tensor, x_1: Tensor, t: object) -> PathSample:
        check_points(x_0, "x_0", finite=False)
        check_points(x_1, "x_1", finite=False)
        check_same_shape(x_0, x_1)
        if x_0.shape[1] != 2:
            raise ValueError(
                f"CurvedPath is defined for 2-D points (x_0: (B, 2)); got shape {tuple(x_0.shape)}"
            )
        t = as_time(t, x_0.shape[0], x_0)[:, None]
        d = x_1 - x_0
        n_perp = torch.stack([-d[:, 1], d[:, 0]], dim=1) / d.norm(dim=1, keepdim=True).clamp_min(
            1e-12
        )
        x_t = (1 - t) * x_0 + t * x_1 + self.a * t * (1 - t) * n_perp
        u_t = d + self.a * (1 - 2 * t) * n_perp
        return PathSample(x_0, x_1, t[:, 0], x_t, u_t)

    def __repr__(self) -> str:
        return f"CurvedPath(a={self.a})"


def linear_path(sigma_min: float = 0.0) -> AffinePath:
    """The straight path x_t = (1 - t) x_0 + t x_1 (Section 6.1.4), optionally smoothed."""
    return AffinePath(LinearScheduler(sigma_min), name="linear")


def cosine_path() -> AffinePath:
    return AffinePath(CosineScheduler(), name="cosine")


def vp_path(beta_min: float = 0.1, beta_max: float = 20.0) -> AffinePath:
    return AffinePath(VPScheduler(beta_min, beta_max), name="vp")
