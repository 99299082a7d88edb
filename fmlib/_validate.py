"""Input validation shared by fmlib: clear errors naming the math object, never a crash deep in torch.

Every public entry point validates what a user hands it here, once, and raises ``TypeError`` or
``ValueError``. (The student-facing checks that never raise are ``fmlib.checks``.)
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class VectorField(Protocol):
    """The one contract for a vector field, ``v(x, t) -> velocity``. Section 6.1.1.

    x: (B, D) floating tensor; t: a float or a (B,) tensor in [0, 1] (noise at t = 0, data at
    t = 1); returns the velocity, shaped like x. ``VectorFieldMLP``, the exact fields of
    ``fields`` and ``analytic``, and a plain ``lambda x, t: -x`` all are one. Entry points that take
    a field from the user (``solve``, ``cfm_loss``, ``train_cfm``) check it once with
    ``check_field``; the network's own forward pass only does cheap shape and time checks.
    """

    def __call__(self, x: Tensor, t: float | Tensor, /) -> Tensor: ...


def check_field(v: object, name: str = "v") -> VectorField:
    """Return ``v`` if it can be called as v(x, t); TypeError otherwise."""
    if not callable(v):
        raise TypeError(
            f"{name} must be a vector field callable as {name}(x, t) -> (B, D); got {type(v).__name__}"
        )
    return v


def check_points(x: object, name: str = "x", dim: int | None = None, finite: bool = True) -> Tensor:
    """Return ``x`` if it is a floating (B, D) tensor; raise a clear error otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, D); got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (float32 or float64); got {x.dtype}"
        )
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (B, D); got shape {tuple(x.shape)}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} must have D = {dim} columns; got shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def check_same_shape(a: Tensor, b: Tensor, names: str = "x_0 and x_1") -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{names} must have the same shape (B, D); got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def as_time(t: object, batch: int, like: Tensor, name: str = "t") -> Tensor:
    """Turn ``t`` (a float, a 0-d tensor or a (B,) tensor in [0, 1]) into a (B,) tensor like ``like``.

    Called on every evaluation of a field, so it is kept cheap: plain Python for a float t, and
    one min/max reduction (NaN propagates through it) for a tensor t.
    """
    if isinstance(t, bool) or not isinstance(t, (int, float, Tensor)):
        raise TypeError(
            f"{name} must be a float or a (B,) tensor in [0, 1]; got {type(t).__name__}"
        )
    if isinstance(t, Tensor):
        if t.ndim == 0:
            t = t.reshape(1).expand(batch)
        elif t.ndim != 1 or t.shape[0] != batch:
            raise ValueError(
                f"{name} must be a float or a (B,) tensor in [0, 1] with B = {batch}; got shape {tuple(t.shape)}"
            )
        t = t.to(dtype=like.dtype, device=like.device)
        lo, hi = (float(v) for v in torch.aminmax(t.detach()))  # t may carry a gradient (adjoint)
    else:
        lo = hi = float(t)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or infinite values")
    # Solvers may step a rounding error past an end point; clamp that, reject anything larger.
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(
            f"{name} must lie in [0, 1] (noise at t = 0, data at t = 1); got min {lo:.4g}, max {hi:.4g}"
        )
    if not isinstance(t, Tensor):
        return torch.full((batch,), min(max(lo, 0.0), 1.0), dtype=like.dtype, device=like.device)
    return t.clamp(0.0, 1.0)  # a fresh tensor, as callers have always had


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 1: TypeError for another type, ValueError for < 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive integer; got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return value


def check_generator(generator: object) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None; got {type(generator).__name__}"
        )
    return generator
