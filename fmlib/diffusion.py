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

from ._validate import as_time, check_generator, check_points, check_positive_int, check_same_shape
from .cache import cached
from .paths import AffinePath, VPScheduler

__all__ = [
    "VPSDE",
    "score_to_velocity",
    "velocity_to_score",
    "probability_flow_field",
    "reverse_sde_sample",
    "noise_to_score",
    "dsm_loss",
    "train_dsm",
    "reverse_sde_trajectory",
    "diffusion_sampler",
    "model_sampler",
    "linear_equivalent",
    "ended_path",
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
    alpha_t, sigma_t, d_alpha_t, d_sigma_t = _coefficients(path, x, t, score, "score")
    _check_nonzero(alpha_t, "alpha_t", "score_to_velocity divides by alpha_t")
    return (d_alpha_t / alpha_t) * x + (
        d_alpha_t * sigma_t**2 / alpha_t - d_sigma_t * sigma_t
    ) * score


def velocity_to_score(velocity: Tensor, x: Tensor, t: object, path: AffinePath) -> Tensor:
    """The inverse map: score_t(x) from the marginal velocity u_t(x). Section 6.4.2."""
    alpha_t, sigma_t, d_alpha_t, d_sigma_t = _coefficients(path, x, t, velocity, "velocity")
    _check_nonzero(alpha_t, "alpha_t", "velocity_to_score divides by alpha_t")
    _check_nonzero(
        sigma_t, "sigma_t", "velocity_to_score divides by sigma_t (p_t is a point mass there)"
    )
    return (velocity - (d_alpha_t / alpha_t) * x) / (
        d_alpha_t * sigma_t**2 / alpha_t - d_sigma_t * sigma_t
    )


def _check_nonzero(c: Tensor, name: str, why: str) -> None:
    """The score-velocity maps divide by alpha_t (and sigma_t): a clear error, not inf or NaN."""
    if bool((c == 0).any()):
        raise ValueError(
            f"{name} must be non-zero: {why}, and {name} = 0 at some of the given t; "
            "evaluate at t strictly inside (0, 1)"
        )


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
    # one Euler-Maruyama loop, in reverse_sde_trajectory; keep only the start and the end
    return reverse_sde_trajectory(
        score_fn, sde, x_init, steps=steps, generator=generator, t_end=t_end, save_at=1
    ).x


# ---------------------------------------------------------------- denoising score matching (6.4.2)


def noise_to_score(model: Field, path: AffinePath) -> Field:
    """s(x, t) = -eps_theta(x, t) / sigma_t: a network that predicts the noise x_0, as a score. Section 6.4.2.

    Given x_t = alpha_t x_1 + sigma_t x_0, the conditional score is -(x_t - alpha_t x_1) / sigma_t^2
    = -x_0 / sigma_t, so a network eps_theta that predicts x_0 defines a score. Dividing by sigma_t
    keeps the network's output of order one while the score itself grows like 1 / sigma_t as t -> 1.
    """
    if not isinstance(path, AffinePath):
        raise TypeError(f"path must be an AffinePath; got {path!r}")

    def score(x: Tensor, t: object) -> Tensor:
        _, sigma_t, _, _ = path.coefficients(t, x)
        if bool((sigma_t == 0).any()):
            raise ValueError("the score is undefined where sigma_t = 0 (t = 1); use t < 1")
        return -model(x, t) / sigma_t

    return score


def dsm_loss(score_model: Field, path: AffinePath, x_0: Tensor, x_1: Tensor, t: Tensor) -> Tensor:
    """L_DSM = mean_b sigma_t^2 ||s_theta(x_t, t) - grad log p_t(x_t | x_1)||^2. Section 6.4.2, L_SM.

    Denoising score matching (Vincent, 2011): the intractable score of p_t in L_SM is replaced by
    the score of the Gaussian perturbation kernel p_t(x_t | x_1) = N(alpha_t x_1, sigma_t^2 I),
    -(x_t - alpha_t x_1) / sigma_t^2 = -x_0 / sigma_t; the minimiser is the same. The weight
    lambda(t) = sigma_t^2 (Song et al., 2021) makes every t contribute a term of order one:
    the loss is mean ||sigma_t s_theta + x_0||^2. x_0, x_1: (B, D); t: (B,) with sigma_t > 0.
    """
    check_points(x_0, "x_0")
    check_points(x_1, "x_1")
    check_same_shape(x_0, x_1)
    if not isinstance(path, AffinePath):
        raise TypeError(f"path must be an AffinePath; got {path!r}")
    t = as_time(t, x_0.shape[0], x_0)
    alpha_t, sigma_t, _, _ = path.coefficients(t, x_0)  # (B, 1) each
    if bool((sigma_t == 0).any()):
        raise ValueError("dsm_loss needs sigma_t > 0 (t < 1 on the VP path)")
    x_t = alpha_t * x_1 + sigma_t * x_0  # a draw from p_t(x_t | x_1), in closed form
    target = -(x_t - alpha_t * x_1) / sigma_t**2
    return (sigma_t * (score_model(x_t, t) - target)).pow(2).sum(dim=1).mean()


@cached
def train_dsm(
    model: torch.nn.Module,
    data: Tensor | Callable,
    *,
    sde: VPSDE | None = None,
    t_max: float = 1.0 - 1e-3,
    **options,
):
    """Train a noise predictor eps_theta by denoising score matching on the VP path. Section 6.4.2.

    Each step draws x_1 from ``data``, x_0 ~ N(0, I) and t ~ U[0, t_max] (sigma_t = 0 at t = 1,
    where the conditional score is infinite), and takes one step on ``dsm_loss`` with the score
    ``noise_to_score(model, path)``. ``options`` are ``fmlib.training.TrainOptions`` with
    ``train_cfm``'s defaults, so that a DSM model and a CFM model trained with the same arguments
    have the same budget. The callback gets ``(step, seconds, model)``; the score is
    ``noise_to_score(model, sde.path())``.
    """
    from . import training
    from .data import StandardGaussian

    options = training.TrainOptions().updated(options)
    training._check_model(model)
    if not 0.0 < t_max < 1.0:
        raise ValueError(f"t_max must lie in (0, 1) (sigma_t = 0 at t = 1); got {t_max!r}")
    sde = sde if sde is not None else VPSDE()
    path = sde.path()
    score = noise_to_score(model, path)
    draw = training._batch_sampler(data, None)
    dim = data.shape[1] if isinstance(data, Tensor) else model.dim
    source = StandardGaussian(dim)
    batch_size = options.batch_size

    def step_fn(gen):
        x_1, _ = draw(batch_size, gen)
        x_0 = source.sample(batch_size, gen)
        t = t_max * torch.rand(batch_size, generator=gen)
        return dsm_loss(score, path, x_0, x_1, t)

    return training._loop(model, step_fn, options, "DSM (VP)")


def reverse_sde_trajectory(
    score_fn: Field,
    sde: VPSDE,
    x_init: Tensor,
    steps: int = 500,
    generator: torch.Generator | None = None,
    t_end: float = 1.0 - 1e-3,
    save_at: int | None = None,
):
    """``reverse_sde_sample`` keeping the path: an ``ODESolution`` (x, xs: (K, B, D), ts: (K,), nfe). Section 6.4.2.

    The same Euler-Maruyama steps (and, for the same generator, the same noise) as
    ``reverse_sde_sample``; the states are kept at ``save_at + 1`` equally spaced times (default:
    every step). ``nfe`` counts the score evaluations, one per step.
    """
    from .solvers import ODESolution

    check_points(x_init, "x_init")
    check_positive_int(steps, "steps")
    check_generator(generator)
    if save_at is not None:
        check_positive_int(save_at, "save_at")
        if steps % save_at:
            raise ValueError(f"save_at must divide steps = {steps}; got {save_at}")
    keep_every = steps // save_at if save_at is not None else 1
    x, xs = x_init, [x_init]
    ts = torch.linspace(0.0, t_end, steps + 1, dtype=torch.float64)
    for k in range(steps):
        t, dt = ts[k].item(), (ts[k + 1] - ts[k]).item()
        t_b = as_time(t, x.shape[0], x)
        g = sde.diffusion(t_b)[:, None]
        drift = -sde.drift(x, t_b) + g**2 * score_fn(x, t)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        x = x + drift * dt + g * (dt**0.5) * noise
        if (k + 1) % keep_every == 0:
            xs.append(x)
    return ODESolution(x, torch.stack(xs), ts[::keep_every].to(x_init.dtype), steps)


def diffusion_sampler(
    score_fn: Field,
    sde: VPSDE | None = None,
    *,
    kind: str = "ode",
    method: str = "rk4",
    steps: int = 16,
    t_end: float = 1.0 - 1e-3,
    dim: int = 2,
) -> Callable[[int, torch.Generator], Tensor]:
    """A sampler ``(n, generator) -> (n, dim)`` from a score model, for ``fmlib.ot.w2_report``. Section 6.4.2.

    Draws x_0 ~ N(0, I) with the generator, then ``kind="ode"``: solves the probability-flow ODE
    from t = 0 to ``t_end`` with ``steps`` steps of ``method``; ``kind="sde"``: ``steps``
    Euler-Maruyama steps of the reverse SDE (its noise from the same generator). No gradients.
    """
    from .solvers import METHODS, solve

    if kind not in ("ode", "sde"):
        raise ValueError(
            f"kind must be 'ode' (probability flow) or 'sde' (reverse SDE); got {kind!r}"
        )
    if kind == "ode" and method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    check_positive_int(steps, "steps")
    if not 0.0 < t_end <= 1.0:
        raise ValueError(f"t_end must lie in (0, 1]; got {t_end!r}")
    sde = sde if sde is not None else VPSDE()

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        check_positive_int(n, "n")
        with torch.no_grad():
            x_init = torch.randn(n, dim, generator=generator)
            if kind == "sde":
                return reverse_sde_sample(score_fn, sde, x_init, steps, generator, t_end)
            field = probability_flow_field(score_fn, sde)
            return solve(field, x_init, t1=t_end, method=method, steps=steps).x

    return sample


# ---------------------------------------------------------------- one sampler for every network (6.4)


def model_sampler(
    model: Field,
    *,
    predicts: str = "velocity",
    sde: VPSDE | None = None,
    method: str = "rk4",
    steps: int = 16,
    t_end: float = 1.0,
    dim: int = 2,
) -> Callable[[int, torch.Generator], Tensor]:
    """A sampler ``(n, generator) -> (n, dim)`` from a trained network, whatever it predicts. Section 6.4.

    ``predicts="noise"``: ``model`` is a noise predictor eps_theta on ``sde``'s VP path, sampled by
    its probability-flow ODE (exactly ``diffusion_sampler(noise_to_score(model, sde.path()), sde,
    ...)``); ``predicts="velocity"``: ``model`` is v_theta, and dx/dt = v_theta(x, t) is solved
    from t = 0 to ``t_end`` (below 1 for a field on the VP path, whose d_sigma_t is infinite at
    t = 1). Both with ``steps`` steps of ``method``, from x_0 ~ N(0, I) drawn with the generator.
    """
    from .solvers import METHODS, solve

    if predicts not in ("noise", "velocity"):
        raise ValueError(
            f"predicts must be 'noise' (eps_theta) or 'velocity' (v_theta); got {predicts!r}"
        )
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    check_positive_int(steps, "steps")
    if not 0.0 < t_end <= 1.0:
        raise ValueError(f"t_end must lie in (0, 1]; got {t_end!r}")
    sde = sde if sde is not None else VPSDE()
    if predicts == "noise":
        score = noise_to_score(model, sde.path())
        return diffusion_sampler(score, sde, method=method, steps=steps, t_end=t_end, dim=dim)

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        check_positive_int(n, "n")
        with torch.no_grad():
            x_init = torch.randn(n, dim, generator=generator)
            return solve(model, x_init, t1=t_end, method=method, steps=steps).x

    return sample


def linear_equivalent(path: AffinePath, t: Tensor) -> tuple[Tensor, Tensor]:
    """The linear-path time r and scale c at which x_lin(r) = c * x_t: equal signal-to-noise. Section 6.4.1.

    An affine path x_t = alpha_t x_1 + sigma_t x_0 and the linear path x_r = r x_1 + (1 - r) x_0
    have the same signal-to-noise ratio when r / (1 - r) = alpha_t / sigma_t, i.e.
    r = alpha_t / (alpha_t + sigma_t); then x_r = x_t / (alpha_t + sigma_t) for every pair
    (x_0, x_1), so the marginals, and the trajectories of the two marginal flows, differ only by
    the scale c = 1 / (alpha_t + sigma_t) (an inward shrink of up to 1 / sqrt(2) on the VP path).
    t: (K,) times; returns r: (K,), c: (K,).
    """
    if not isinstance(path, AffinePath):
        raise TypeError(f"path must be an AffinePath; got {path!r}")
    if not isinstance(t, Tensor) or t.ndim != 1:
        raise ValueError("t must be a (K,) tensor of times in [0, 1]")
    alpha_t, sigma_t, _, _ = path.scheduler(t)
    return alpha_t / (alpha_t + sigma_t), 1 / (alpha_t + sigma_t)


class _EndedScheduler:
    """A scheduler run from t = 0 to t_end and rescaled to [0, 1] (its derivatives times t_end)."""

    def __init__(self, scheduler, t_end: float):
        self.scheduler, self.t_end = scheduler, float(t_end)

    def __call__(self, t: Tensor):
        from .paths import SchedulerOutput

        alpha_t, sigma_t, d_alpha_t, d_sigma_t = self.scheduler(self.t_end * t)
        return SchedulerOutput(alpha_t, sigma_t, self.t_end * d_alpha_t, self.t_end * d_sigma_t)

    def __repr__(self) -> str:
        return f"ended({self.scheduler!r}, t_end={self.t_end})"


def ended_path(sde: VPSDE | None = None, t_end: float = 1.0 - 1e-3) -> AffinePath:
    """The VP path from t = 0 to ``t_end``, rescaled to [0, 1]: its x_t is the VP path's x at t_end * t. Section 6.4.3.

    Flow matching on the VP path itself fails: d_sigma_t is infinite at t = 1, so a draw of t
    close to 1 makes the CFM target blow up. On this path, with t ~ U[0, 1], FM sees exactly the
    x_t that ``train_dsm`` sees (t ~ U[0, t_max] on the VP path), and its sampler runs to t = 1.
    """
    if not 0.0 < t_end < 1.0:
        raise ValueError(
            f"t_end must lie in (0, 1) (d_sigma_t is infinite at t = 1); got {t_end!r}"
        )
    sde = sde if sde is not None else VPSDE()
    return AffinePath(_EndedScheduler(sde.scheduler, t_end), name="vp-ended")
