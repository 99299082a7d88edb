"""Diffusion models seen from flow matching. Section 6.4.

The variance-preserving SDE dx = -1/2 beta(s) x ds + sqrt(beta(s)) dW runs in diffusion time s
(data at s = 0); everything here is exposed in flow-matching time t = 1 - s (noise at t = 0).
For an affine Gaussian path x_t = alpha_t x_1 + sigma_t x_0 the score and the marginal velocity
are two views of one object (Tweedie: E[x_1 | x] = (x + sigma^2 score) / alpha):
    u_t(x) = (d_alpha/alpha) x + (d_alpha sigma^2 / alpha - d_sigma sigma) score_t(x).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._checks import as_time, check_generator, check_points, check_positive_int, check_same_shape
from .paths import AffinePath, VPScheduler

__all__ = [
    "VPSDE",
    "score_to_velocity",
    "velocity_to_score",
    "probability_flow_field",
    "reverse_sde_sample",
]

Field = Callable[[Tensor, object], Tensor]


class VPSDE:
    """The VP SDE, with beta(s) = beta_min + s (beta_max - beta_min), s = 1 - t. Section 6.4.1."""

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0):
        self.scheduler = VPScheduler(beta_min, beta_max)

    def path(self) -> AffinePath:
        """The flow-matching path with the same marginals p_t as this SDE."""
        return AffinePath(self.scheduler, name="vp")

    def drift(self, x: Tensor, t: Tensor) -> Tensor:
        """f(x, s) = -1/2 beta(s) x at s = 1 - t."""
        return -0.5 * self.scheduler.beta(1 - t)[:, None] * x

    def diffusion(self, t: Tensor) -> Tensor:
        """g(s) = sqrt(beta(s)) at s = 1 - t, (B,)."""
        return self.scheduler.beta(1 - t).sqrt()


def _coefficients(path: AffinePath, x: Tensor, t: object, field: Tensor, name: str):
    check_points(x, "x", finite=False)
    check_points(field, name, finite=False)
    check_same_shape(field, x, f"{name} and x")
    if not isinstance(path, AffinePath):
        raise TypeError(
            f"path must be an AffinePath (score and velocity are linked for affine paths); got {path!r}"
        )
    return path.coefficients(t, x)


def score_to_velocity(score: Tensor, x: Tensor, t: object, path: AffinePath) -> Tensor:
    """Marginal velocity u_t(x) from the score of p_t, for a Gaussian-source affine path. Section 6.4.2."""
    a, s, da, ds = _coefficients(path, x, t, score, "score")
    return (da / a) * x + (da * s**2 / a - ds * s) * score


def velocity_to_score(velocity: Tensor, x: Tensor, t: object, path: AffinePath) -> Tensor:
    """The inverse map: score_t(x) from the marginal velocity u_t(x). Section 6.4.2."""
    a, s, da, ds = _coefficients(path, x, t, velocity, "velocity")
    return (velocity - (da / a) * x) / (da * s**2 / a - ds * s)


def probability_flow_field(score_fn: Field, sde: VPSDE) -> Field:
    """v(x, t) of the probability-flow ODE, dx/ds = f - 1/2 g^2 score, run in t = 1 - s. Section 6.4.1."""

    def v(x: Tensor, t: object) -> Tensor:
        t_b = as_time(t, x.shape[0], x)
        g2 = sde.diffusion(t_b)[:, None] ** 2
        return -(sde.drift(x, t_b) - 0.5 * g2 * score_fn(x, t))

    return v


def reverse_sde_sample(
    score_fn: Field,
    sde: VPSDE,
    x_init: Tensor,
    steps: int = 500,
    generator: torch.Generator | None = None,
    t_end: float = 1.0 - 1e-3,
) -> Tensor:
    """Euler-Maruyama on the reverse-time SDE, from noise (t = 0) to data (t = ``t_end``). Section 6.4.

    In t = 1 - s the reverse SDE reads dx = [-f + g^2 score] dt + g dW. It stops just short of
    t = 1, where the score of a point-mass target blows up.
    """
    check_points(x_init, "x_init")
    check_positive_int(steps, "steps")
    check_generator(generator)
    x = x_init
    ts = torch.linspace(0.0, t_end, steps + 1, dtype=torch.float64)
    for k in range(steps):
        t, dt = ts[k].item(), (ts[k + 1] - ts[k]).item()
        t_b = as_time(t, x.shape[0], x)
        g = sde.diffusion(t_b)[:, None]
        drift = -sde.drift(x, t_b) + g**2 * score_fn(x, t)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        x = x + drift * dt + g * (dt**0.5) * noise
    return x
