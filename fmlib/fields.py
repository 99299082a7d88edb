"""Analytic 2-D vector fields with closed-form divergence and curl. Section 6.1.1.

Section 6.1.1 reads a flow through two local numbers: the divergence div v (where mass spreads
out, div v > 0, or piles up, div v < 0; the continuity equation turns it into the rate of change
of log p along a trajectory) and the curl (how much the field turns). Three small fields make
the point: a source/sink (all divergence, no curl), a rigid rotation (all curl, no divergence)
and a gradient field (curl-free, with divergence). Each is an ``AnalyticField``: a vector field
``v(x, t)`` like any other, which also carries its divergence and curl in closed form, so
plots and tests need no autograd and have an exact reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ._validate import as_time, check_field, check_points
from .likelihood import divergence_exact

__all__ = [
    "AnalyticField",
    "SourceSink",
    "source_sink",
    "rotation",
    "gradient_field",
    "field_divergence",
    "field_curl",
    "field_jacobian",
    "curl_ratio",
    "FieldSum",
    "field_sum",
]

Fn = Callable[[Tensor, Tensor], Tensor]  # (x: (B, 2), t: (B,)) -> (B, 2) or (B,)


class AnalyticField:
    """A 2-D vector field v(x, t) with closed-form ``divergence`` and ``curl``. Section 6.1.1.

    ``velocity``, ``divergence`` and ``curl`` take x: (B, 2) and t: (B,) (already checked) and
    return (B, 2), (B,) and (B,). The object is called as ``v(x, t)`` with t a float or a (B,)
    tensor in [0, 1]. Fields add: ``rotation() + source_sink()`` has the summed divergence and curl.
    """

    dim = 2

    def __init__(self, velocity: Fn, divergence: Fn, curl: Fn, name: str = "field"):
        for label, fn in (("velocity", velocity), ("divergence", divergence), ("curl", curl)):
            if not callable(fn):
                raise TypeError(
                    f"the {label} of an AnalyticField must be callable (x, t) -> Tensor; got {fn!r}"
                )
        self._velocity, self._divergence, self._curl, self.name = velocity, divergence, curl, name

    def _inputs(self, x: Tensor, t: object) -> tuple[Tensor, Tensor]:
        check_points(x, "x", dim=2, finite=False)
        return x, as_time(t, x.shape[0], x)

    def __call__(self, x: Tensor, t: object = 0.0) -> Tensor:
        """v(x, t): (B, 2) for x: (B, 2). Section 6.1.1."""
        return self._velocity(*self._inputs(x, t))

    def divergence(self, x: Tensor, t: object = 0.0) -> Tensor:
        """div v(x, t) = dv_1/dx_1 + dv_2/dx_2: (B,), closed form. Section 6.1.1."""
        return self._divergence(*self._inputs(x, t))

    def curl(self, x: Tensor, t: object = 0.0) -> Tensor:
        """The scalar curl dv_2/dx_1 - dv_1/dx_2 (the z-component): (B,), closed form. Section 6.1.1."""
        return self._curl(*self._inputs(x, t))

    def __add__(self, other: AnalyticField) -> AnalyticField:
        if not isinstance(other, AnalyticField):
            return NotImplemented
        a, b = self, other
        return AnalyticField(
            lambda x, t: a._velocity(x, t) + b._velocity(x, t),
            lambda x, t: a._divergence(x, t) + b._divergence(x, t),
            lambda x, t: a._curl(x, t) + b._curl(x, t),
            name=f"{a.name} + {b.name}",
        )

    def __repr__(self) -> str:
        return f"AnalyticField({self.name})"


def _zero(x: Tensor, t: Tensor) -> Tensor:
    return torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)


class SourceSink(AnalyticField):
    """v(x) = strength x (1 - |x|^2 / R^2), with its ``radius`` R and ``strength``. Section 6.1.1."""

    def __init__(self, radius: float = 1.5, strength: float = 1.0):
        if not radius > 0:
            raise ValueError(f"the source/sink radius R must be positive; got {radius!r}")
        self.radius, self.strength = float(radius), float(strength)
        r2_scale, s = self.radius**2, self.strength

        def velocity(x: Tensor, t: Tensor) -> Tensor:
            return s * x * (1 - x.pow(2).sum(1, keepdim=True) / r2_scale)

        def divergence(x: Tensor, t: Tensor) -> Tensor:
            return s * (2 - 4 * x.pow(2).sum(1) / r2_scale)

        name = f"source_sink(radius={radius}, strength={strength})"
        super().__init__(velocity, divergence, _zero, name=name)


def source_sink(radius: float = 1.5, strength: float = 1.0) -> SourceSink:
    """v(x) = strength x (1 - |x|^2 / R^2): out of the disc's centre, into its rim. Section 6.1.1.

    Inside the circle |x| = R the field points outwards, outside it points inwards, so mass
    drains from the centre (div v = strength (2 - 4 |x|^2 / R^2) > 0 there) and piles up on the
    circle (div v < 0 near and beyond it). Radial, so the curl is zero.
    """
    return SourceSink(radius, strength)


def rotation(omega: float = 1.0) -> AnalyticField:
    """v(x) = omega (-x_2, x_1): rigid rotation, div v = 0 and curl = 2 omega. Section 6.1.1.

    Divergence-free: the flow moves mass around without compressing it, so log p is constant
    along every trajectory (a rotation of N(0, I) leaves it unchanged).
    """
    w = float(omega)

    def velocity(x: Tensor, t: Tensor) -> Tensor:
        return w * torch.stack([-x[:, 1], x[:, 0]], dim=1)

    def curl(x: Tensor, t: Tensor) -> Tensor:
        return torch.full((x.shape[0],), 2 * w, dtype=x.dtype, device=x.device)

    return AnalyticField(velocity, _zero, curl, name=f"rotation(omega={omega})")


def gradient_field(
    centres: Sequence[Sequence[float]] = ((-1.0, 0.0), (1.0, 0.0)),
    depths: Sequence[float] = (1.0, 1.0),
    width: float = 0.75,
) -> AnalyticField:
    """v = -grad U for Gaussian wells U(x) = -sum_k d_k exp(-|x - c_k|^2 / (2 w^2)). Section 6.1.1.

    A gradient field is curl-free; its divergence -Laplacian(U) is negative inside each well
    (particles converge, density rises) and positive on the rims. Closed forms, with
    g_k = d_k exp(-|x - c_k|^2 / (2 w^2)): v = -sum_k g_k (x - c_k) / w^2 and
    div v = -sum_k g_k (2 / w^2 - |x - c_k|^2 / w^4).
    """
    c = torch.as_tensor(centres, dtype=torch.float64)
    d = torch.as_tensor(depths, dtype=torch.float64)
    if c.ndim != 2 or c.shape[1] != 2 or d.shape != c.shape[:1]:
        raise ValueError(
            f"centres must be (K, 2) and depths (K,); got {tuple(c.shape)} and {tuple(d.shape)}"
        )
    if not width > 0:
        raise ValueError(f"the well width w must be positive; got {width!r}")
    w2 = float(width) ** 2

    def wells(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        diff = x[:, None, :] - c.to(x)[None]  # (B, K, 2)
        r2 = diff.pow(2).sum(-1)  # (B, K)
        return diff, r2, d.to(x)[None] * torch.exp(-0.5 * r2 / w2)

    def velocity(x: Tensor, t: Tensor) -> Tensor:
        diff, _, g = wells(x)
        return -(g[..., None] * diff).sum(1) / w2

    def divergence(x: Tensor, t: Tensor) -> Tensor:
        _, r2, g = wells(x)
        return -(g * (2 / w2 - r2 / w2**2)).sum(1)

    return AnalyticField(
        velocity, divergence, _zero, name=f"gradient_field({len(c)} wells, width={width})"
    )


def field_divergence(field: Callable, x: Tensor, t: object = 0.0) -> Tensor:
    """div v(x, t): (B,), the closed form when ``field`` carries one, else autograd. Section 6.1.1."""
    check_field(field, "field")
    check_points(x, "x", finite=False)
    if callable(getattr(field, "divergence", None)):
        return field.divergence(x, t)
    return divergence_exact(field, x, t).detach()


def field_curl(field: Callable, x: Tensor, t: object = 0.0) -> Tensor:
    """Scalar curl dv_2/dx_1 - dv_1/dx_2: (B,) for x: (B, 2); closed form or autograd. Section 6.1.1."""
    check_field(field, "field")
    check_points(x, "x", dim=2, finite=False)
    if callable(getattr(field, "curl", None)):
        return field.curl(x, t)
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        out = field(x, t)
        (g_1,) = torch.autograd.grad(out[:, 1].sum(), x, retain_graph=True)
        (g_0,) = torch.autograd.grad(out[:, 0].sum(), x)
    return (g_1[:, 0] - g_0[:, 1]).detach()


def field_jacobian(field: Callable, x: Tensor, t: object = 0.0) -> Tensor:
    """The Jacobian dv_i/dx_j of any field ``v(x, t)`` at each point, by autograd: (B, D, D). Section 6.2.2."""
    check_field(field, "field")
    check_points(x, "x", finite=False)
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        out = field(x, t)
        rows = [
            torch.autograd.grad(out[:, i].sum(), x, retain_graph=i < x.shape[1] - 1)[0]
            for i in range(x.shape[1])
        ]
    return torch.stack(rows, dim=1).detach()


def curl_ratio(field: Callable, x: Tensor, t: object = 0.0) -> float:
    """mean |curl v| / mean ||grad v||_F over the points x: (B, 2), both by autograd. Section 6.2.2.

    A scale-free measure of how far a field is from a gradient (curl-free) field at these points:
    0 for any gradient field (a symmetric Jacobian), sqrt(2) for a rigid rotation. Closed-form
    curls that a field may carry are ignored, so analytic and learned fields take the same test.
    """
    check_points(x, "x", dim=2, finite=False)
    jac = field_jacobian(field, x, t)  # (B, 2, 2)
    curl = jac[:, 1, 0] - jac[:, 0, 1]
    return float(curl.abs().mean() / jac.flatten(1).norm(dim=1).mean())


class FieldSum:
    """The field v(x, t) = sum_k v_k(x, t) of any fields ``v_k(x, t)``. Section 6.2.2.

    Adding a divergence-free (relative to p_t) or rotating part to a field is how the notebook of
    6.2 tests the curl and the energy of fields that are not gradients.
    """

    def __init__(self, *fields: Callable):
        if not fields:
            raise ValueError("field_sum needs at least one field v(x, t)")
        for f in fields:
            check_field(f, "field")
        self.fields = fields

    def __call__(self, x: Tensor, t: object = 0.0) -> Tensor:
        return sum(f(x, t) for f in self.fields)

    def __repr__(self) -> str:
        return " + ".join(repr(f) for f in self.fields)


def field_sum(*fields: Callable) -> FieldSum:
    """v_1 + v_2 + ...: a field ``v(x, t)`` (see ``FieldSum``). Section 6.2.2."""
    return FieldSum(*fields)
