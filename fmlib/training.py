"""Training a vector field: conditional flow matching (Sections 6.1.4, 6.3.3) and, as the
"traditional" baseline of Section 6.1.2, maximum likelihood through an ODE solve.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import runtime
from ._validate import check_field, check_points, check_positive_int
from .cache import cached
from .couplings import independent, ot_pairing
from .data import StandardGaussian
from .i18n import t as _t
from .likelihood import log_prob
from .paths import AffinePath, linear_path

__all__ = [
    "cfm_loss",
    "TrainHistory",
    "TrainOptions",
    "train_cfm",
    "train_cnf_mle",
    "DEFAULTS",
    "Checkpoints",
    "W2Checkpoints",
    "LossGapRecorder",
    "NFERecorder",
]


@dataclass(frozen=True)
class TrainOptions:
    """The options every training entry point shares, validated once when they are made.

    ``train_cfm``, ``train_cnf_mle`` and ``fmlib.diffusion.train_dsm`` take them as keyword
    arguments (``steps=...``); each starts from its own defaults (the defaults here are
    ``train_cfm``'s, fmlib's recipe for 2-D toys, chosen with ``python -m fmlib.bench``).

    steps, batch_size: optimisation steps and the batch drawn per step.
    lr, lr_schedule: Adam's learning rate, decayed to lr / 100 on a cosine (``"cosine"``) or
        kept (``"constant"``).
    seed: seeds every draw of the run; the same seed and initial model give the same result.
    ema_decay: an exponential moving average of the weights, returned in the model at the end
        (and used by ``callback``); ``None`` returns the last iterate.
    time_budget_s: stop once training (callbacks excluded) has used that much wall time.
    log_every: log the loss every that many steps (and at the last).
    callback, callback_every: ``callback(step, seconds, model)`` every that many steps.
    progress: show a progress bar.
    """

    steps: int = 4000
    batch_size: int = 256
    lr: float = 5e-3
    seed: int = 0
    ema_decay: float | None = 0.995
    lr_schedule: str = "cosine"
    time_budget_s: float | None = None
    log_every: int = 50
    callback: Callable | None = None
    callback_every: int = 500
    progress: bool = True

    def __post_init__(self):
        check_positive_int(self.steps, "steps")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.log_every, "log_every")
        check_positive_int(self.callback_every, "callback_every")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive; got {self.lr!r}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1) or be None; got {self.ema_decay!r}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(
                f"lr_schedule must be 'cosine' or 'constant'; got {self.lr_schedule!r}"
            )
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"time_budget_s must be positive or None; got {self.time_budget_s!r}")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(
                f"callback must be callable as callback(step, seconds, model); got {self.callback!r}"
            )

    def updated(self, options: dict) -> TrainOptions:
        """These options with some replaced by name; a TypeError names an unknown one."""
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise TypeError(
                f"unknown training option(s) {', '.join(unknown)}; the options are "
                f"{', '.join(f.name for f in dataclasses.fields(self))}"
            )
        return dataclasses.replace(self, **options)


# fmlib's default recipe for 2-D toys, chosen with `python -m fmlib.bench` (see README).
DEFAULTS = {
    name: getattr(TrainOptions(), name) for name in ("steps", "batch_size", "lr", "ema_decay")
}
# Maximum likelihood solves an ODE per step: fewer, cheaper steps, logged more often, no EMA.
CNF_MLE_OPTIONS = TrainOptions(steps=500, lr=3e-3, ema_decay=None, log_every=10, callback_every=100)


def cfm_loss(
    model: Callable, path, x_0: Tensor, x_1: Tensor, t: Tensor, y: Tensor | None = None
) -> Tensor:
    """L_CFM = mean_b ||v_theta(x_t, t) - u_t(x_t | x_0, x_1)||^2. Section 6.3.3, L_CFM."""
    check_field(model, "model")
    ps = path.sample(x_0, x_1, t)
    v = model(ps.x_t, ps.t) if y is None else model(ps.x_t, ps.t, y)
    return (v - ps.u_t).pow(2).sum(dim=1).mean()


@dataclass
class TrainHistory:
    """Logged steps, losses and training wall time in seconds (callbacks excluded)."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    time_s: list[float] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def wall_time(self) -> float:
        return self.time_s[-1] if self.time_s else 0.0


def _batch_sampler(data, labels):
    if callable(data):
        return lambda n, g: (data(n, g), None)
    check_points(data, "data")
    if labels is not None and (not isinstance(labels, Tensor) or labels.shape != data.shape[:1]):
        raise ValueError(
            f"labels must be a (N,) tensor matching data: (N, D); got {getattr(labels, 'shape', labels)}"
        )

    def sample(n, g):
        idx = torch.randint(0, data.shape[0], (n,), generator=g)
        return data[idx], (labels[idx] if labels is not None else None)

    return sample


class _EMA:
    """Exponential moving average of the weights, swapped in for evaluation and at the end."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay, self.params = decay, [p for p in model.parameters()]
        self.shadow = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], 1 - self.decay)

    @torch.no_grad()
    def swap(self) -> None:
        for p, s in zip(self.params, self.shadow, strict=True):
            tmp = p.detach().clone()
            p.copy_(s)
            s.copy_(tmp)


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module v_theta(x, t) (its parameters are trained); got {type(model).__name__}"
        )
    return model


def _loop(model: nn.Module, step_fn: Callable, options: TrainOptions, desc: str) -> TrainHistory:
    """The shared optimisation loop: Adam, a learning-rate schedule, EMA, logging, time budget.

    ``step_fn(generator) -> loss`` draws one batch and returns its loss.
    """
    steps, lr = options.steps, options.lr
    ema = _EMA(model, options.ema_decay) if options.ema_decay else None
    # foreach: one batched update for all parameters, the same numbers as the default per-parameter
    # loop (which torch picks on a CPU) but 1.6x faster for the course's small MLPs (1.9 against
    # 3.0 ms per I-CFM step of batch 256 here), whose steps are dominated by per-tensor overhead.
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.01)
        if options.lr_schedule == "cosine"
        else torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
    )
    log_every, callback, callback_every = (
        options.log_every,
        options.callback,
        options.callback_every,
    )
    time_budget_s = options.time_budget_s
    gen = torch.Generator().manual_seed(options.seed)
    hist, clock, spent = TrainHistory(), 0.0, time.perf_counter()
    bar = tqdm(
        range(1, steps + 1), desc=desc, disable=not options.progress, mininterval=0.5, leave=False
    )
    model.train()
    for step in bar:
        runtime.tick()
        loss = step_fn(gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if ema is not None:
            ema.update()
        now = time.perf_counter()
        clock += now - spent
        spent = now
        if step % log_every == 0 or step == steps:
            value = loss.item()
            if value != value:
                raise FloatingPointError(
                    f"training loss became NaN at step {step}; lower the learning rate"
                )
            hist.step.append(step)
            hist.loss.append(value)
            hist.time_s.append(clock)
            bar.set_postfix(loss=f"{value:.3f}", refresh=False)
        if callback is not None and step % callback_every == 0:
            model.eval()
            if ema is not None:
                ema.swap()
            callback(step, clock, model)
            if ema is not None:
                ema.swap()
            model.train()
            spent = time.perf_counter()
        if time_budget_s is not None and clock >= time_budget_s:
            if not hist.step or hist.step[-1] != step:
                hist.step.append(step)
                hist.loss.append(loss.item())
                hist.time_s.append(clock)
            hist.stopped_early = step < steps
            break
    bar.close()
    if ema is not None:
        ema.swap()  # hand back the averaged weights
    model.eval()
    return hist


@cached
def train_cfm(
    model: nn.Module,
    data: Tensor | Callable,
    *,
    path: AffinePath | None = None,
    coupling: str = "independent",
    labels: Tensor | None = None,
    p_uncond: float = 0.0,
    ot_block_size: int | None = 64,
    source: StandardGaussian | None = None,
    **options,
) -> TrainHistory:
    """Train ``model`` with the CFM loss: Sections 6.1.4 (algorithm), 6.3.3 (L_CFM), 6.5 (OT, guidance).

    Each step draws x_1 from ``data`` (an (N, D) training set, or a sampler ``data(n, generator)``),
    x_0 from ``source`` (N(0, I) by default) and t ~ U[0, 1], pairs them with ``coupling``
    (``"independent"`` or ``"ot"``, minibatch OT on blocks of ``ot_block_size``), and takes one
    Adam step on L_CFM along ``path`` (the linear path by default). With ``labels`` the model is
    conditioned on them, dropped to the null class with probability ``p_uncond``
    (classifier-free guidance).
    ``options`` are the ``TrainOptions`` (steps=4000, batch_size=256, lr=5e-3, seed=0,
    ema_decay=0.995, lr_schedule="cosine", time_budget_s=None, log_every=50, callback=None,
    callback_every=500, progress=True). The same seed and initial model give the same result bit
    for bit.
    """
    options = TrainOptions().updated(options)
    _check_model(model)
    if coupling not in ("independent", "ot"):
        raise ValueError(f"coupling must be 'independent' or 'ot'; got {coupling!r}")
    if not 0.0 <= p_uncond < 1.0:
        raise ValueError(f"p_uncond must lie in [0, 1); got {p_uncond!r}")
    if labels is not None and not getattr(model, "num_classes", 0):
        raise ValueError(
            "labels were given but the model has no class conditioning (num_classes=0)"
        )
    path = path if path is not None else linear_path()
    draw = _batch_sampler(data, labels)
    dim = data.shape[1] if isinstance(data, Tensor) else model.dim
    source = source if source is not None else StandardGaussian(dim)
    batch_size = options.batch_size

    def step_fn(gen):
        x_1, y = draw(batch_size, gen)
        x_0 = source.sample(batch_size, gen)
        t = torch.rand(batch_size, generator=gen)
        if coupling == "ot":
            x_0, x_1, y = ot_pairing(x_0, x_1, y, block_size=ot_block_size)
        else:
            x_0, x_1, y = independent(x_0, x_1, y)
        if y is not None and p_uncond > 0:
            drop = torch.rand(batch_size, generator=gen) < p_uncond
            y = torch.where(drop, torch.full_like(y, model.null_class), y)
        return cfm_loss(model, path, x_0, x_1, t, y)

    return _loop(model, step_fn, options, _t("CFM ({coupling})", coupling=coupling))


@cached
def train_cnf_mle(
    model: nn.Module,
    data: Tensor | Callable,
    *,
    method: str = "rk4",
    ode_steps: int = 8,
    divergence: str = "exact",
    **options,
) -> TrainHistory:
    """Maximum-likelihood CNF training: minimise -log p_theta(x_1), Section 6.1.2.

    Every step solves the augmented ODE (state and divergence, ``divergence="exact"`` or
    ``"hutchinson"``) from t = 1 to 0 with ``ode_steps`` fixed steps of ``method`` and
    back-propagates through the whole solve, the costs the chapter lists. The logged loss is the
    mean negative log-likelihood in nats. ``options`` are the ``TrainOptions``, with defaults for
    this costlier loss: steps=500, lr=3e-3, ema_decay=None, log_every=10, callback_every=100
    (pass CFM's ``ema_decay`` and ``lr_schedule`` for a like-for-like race).
    """
    options = CNF_MLE_OPTIONS.updated(options)
    _check_model(model)
    draw = _batch_sampler(data, None)
    batch_size = options.batch_size

    def step_fn(gen):
        x_1, _ = draw(batch_size, gen)
        return -log_prob(
            model,
            x_1,
            method=method,
            steps=ode_steps,
            divergence=divergence,
            create_graph=True,
            generator=gen,
        ).mean()

    return _loop(model, step_fn, options, _t("CNF (max. likelihood)"))


def flat_grad(model: nn.Module, loss: Tensor) -> Tensor:
    """d loss / d theta over the model's trainable parameters, as one flat vector (P,). Section 6.3.3.

    The graph is kept (``retain_graph``), so two losses of one forward pass can be differentiated
    in turn: the CFM and FM gradients of the same batch.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(loss, Tensor) or loss.ndim != 0:
        raise ValueError(f"loss must be a scalar tensor; got {getattr(loss, 'shape', loss)!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat(
        [
            (torch.zeros_like(p) if d is None else d).flatten()
            for p, d in zip(params, grads, strict=True)
        ]
    )


__all__ += ["flat_grad"]


class Checkpoints:
    """A ``train_cfm`` callback that measures the model as it trains. Section 6.5.1.

    At every callback step it calls ``measure(model) -> dict`` (on the EMA weights, in eval mode,
    as ``train_cfm`` hands them over) and keeps ``{"step": step, **measured}`` in ``rows``;
    ``column(key)`` is one measurement over the steps. Pass it as ``callback=`` with
    ``callback_every=``; the measuring time is not counted in the history's training time.
    """

    def __init__(self, measure: Callable[[nn.Module], dict]):
        if not callable(measure):
            raise TypeError(f"measure must be a function model -> dict; got {measure!r}")
        self.measure, self.rows = measure, []

    def __call__(self, step: int, clock: float, model: nn.Module) -> None:
        self.rows.append({"step": step, **self.measure(model)})

    def column(self, key: str) -> list:
        return [row[key] for row in self.rows]


class W2Checkpoints:
    """A training callback that scores the model as it trains: W2 of its samples. Section 6.4.3.

    ``to_sampler(model)`` turns the network into a sampler ``(n, generator) -> (n, D)`` (e.g.
    ``functools.partial(fmlib.diffusion.model_sampler, predicts="noise")``); at every call the
    callback draws ``n`` samples with the same seed (the same noise at every checkpoint) and
    appends ``(step, seconds, W2 against reference)`` to ``points``. ``cpu_s`` is the CPU time the
    callback itself used, to take out of a training run's CPU time. Pass it as ``callback=``.
    """

    def __init__(self, to_sampler: Callable, reference: Tensor, seed: int = 3):
        check_points(reference, "reference")
        if not callable(to_sampler):
            raise TypeError("to_sampler must turn a model into a sampler (n, generator) -> (n, D)")
        self.to_sampler, self.reference, self.seed = to_sampler, reference, seed
        self.points: list[tuple[int, float, float]] = []
        self.cpu_s = 0.0

    def __call__(self, step: int, seconds: float, model) -> None:
        from .ot import w2

        start = time.process_time()
        sample = self.to_sampler(model)
        x = sample(self.reference.shape[0], torch.Generator().manual_seed(self.seed))
        self.points.append((step, seconds, w2(x, self.reference)))
        self.cpu_s += time.process_time() - start

    @property
    def steps(self) -> list[int]:
        return [p[0] for p in self.points]

    @property
    def w2(self) -> list[float]:
        return [p[2] for p in self.points]

    def steps_to(self, target: float) -> int | None:
        """The first checkpoint's step whose W2 is at most ``target`` (None: never reached)."""
        return next((s for s, _, w in self.points if w <= target), None)


class LossGapRecorder:
    """A training callback: L_CFM and L_FM of the model on one fixed evaluation batch. Section 6.1.4.

    ``x_t, t`` are evaluation points, ``u_cond`` the conditional velocities x_1 - x_0 training
    regresses on and ``u_t`` the exact marginal field there (``GaussianMixture.velocity``). Each
    call ``(step, clock, model)`` appends a row: L_CFM = mean |v - u_cond|^2, L_FM = mean
    |v - u_t|^2, their difference, and the standard error of its zero-mean part
    -2 (v - u_t).(u_cond - u_t). Rows are in ``rows``; ``train_cfm`` calls it with the averaged
    weights.
    """

    def __init__(self, x_t: Tensor, t: Tensor, u_cond: Tensor, u_t: Tensor):
        for name, value in (("x_t", x_t), ("u_cond", u_cond), ("u_t", u_t)):
            check_points(value, name)
        self.x_t, self.t, self.u_cond, self.u_t = x_t, t, u_cond, u_t
        self.rows: list[dict] = []

    def __call__(self, step: int, clock: float, model: Callable) -> None:
        with torch.no_grad():
            v = model(self.x_t, self.t)
            l_cfm = (v - self.u_cond).pow(2).sum(1).mean().item()
            l_fm = (v - self.u_t).pow(2).sum(1).mean().item()
            cross = -2 * ((v - self.u_t) * (self.u_cond - self.u_t)).sum(1)
        se = cross.std().item() / len(cross) ** 0.5
        self.rows.append(
            {
                "step": step,
                "L_CFM": l_cfm,
                "L_FM": l_fm,
                "L_CFM - L_FM": l_cfm - l_fm,
                "std. error": se,
            }
        )


class NFERecorder:
    """A training callback: how many evaluations an adaptive solve of the model needs. Section 6.1.2.

    Each call ``(step, clock, model)`` solves dx/dt = v(x, t) from ``x_0`` (B, D) at t = 0 to
    t = 1 with dopri5 at ``rtol``/``atol``, without a graph, and appends {"step", "NFE"} to
    ``rows``: a field that stiffens as it trains makes the adaptive solver take more steps.
    """

    def __init__(self, x_0: Tensor, rtol: float = 1e-5, atol: float = 1e-5):
        check_points(x_0, "x_0")
        self.x_0, self.rtol, self.atol = x_0, rtol, atol
        self.rows: list[dict] = []

    def __call__(self, step: int, clock: float, model: Callable) -> None:
        from .solvers import solve

        with torch.no_grad():
            sol = solve(model, self.x_0, method="dopri5", rtol=self.rtol, atol=self.atol)
        self.rows.append({"step": step, "NFE": sol.nfe})
