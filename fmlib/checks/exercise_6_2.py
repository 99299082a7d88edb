"""Checks for the chapter's Exercise 6.2 (design a flow-matching model for two moons).

Same contract as the section checks of ``fmlib.checks``: randomised cases, independent
references, a ✔ or a specific hint, never an exception; fmlib's own answer to a task is
withheld while the student's function runs. The notebook imports it as
``from fmlib.checks import exercise_6_2 as checks``.

The four parts build on each other: each check remembers whether it passed, and ``yours_or_fmlib``
hands the notebook's experiments the student's network, loop and sampler once they pass (fmlib's
stand-ins before, so that the notebook runs before any task is solved). Exercise 6.2.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from .. import data, ot, solvers
from ..i18n import t as _t
from ._core import (
    Case,
    CheckResult,
    StudentError,
    as_tensor,
    matrix_field,
    random_batch,
    run_check,
    student_call,
)

__all__ = [
    "check_time_embedding",
    "check_vector_field",
    "check_cfm_loss",
    "check_training_loop",
    "check_euler_sample",
    "check_path",
    "linear_path",
    "time_in_gap",
    "yours_or_fmlib",
    "FmlibVectorField",
    "fmlib_train",
    "fmlib_euler_sample",
    "fmlib_design_path",
    "solver_row",
    "path_row",
]

_passed: dict[str, bool] = {}


def _record(result: CheckResult) -> CheckResult:
    _passed[result.name] = result.passed
    return result


def yours_or_fmlib(task: str, yours: object, fmlib_version: object) -> object:
    """``yours`` if the check of ``task`` (its name, e.g. "training loop") last passed; otherwise
    fmlib's stand-in, saying so once."""
    if _passed.get(task, False):
        return yours
    print(_t("(using fmlib's {task} until yours passes its check)", task=task))
    return fmlib_version


# ---- the straight path and fmlib's stand-ins, written as the tasks ask ------------------------


def linear_path(x_0: Tensor, x_1: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """The straight path: x_t = (1 - t) x_0 + t x_1 and u_t = d x_t / d t = x_1 - x_0."""
    return (1 - t[:, None]) * x_0 + t[:, None] * x_1, x_1 - x_0


class FmlibVectorField(nn.Module):
    """fmlib's network (``VectorFieldMLP``) with the task's signature: (hidden, time_dim, max_freq)."""

    def __init__(self, hidden: int = 128, time_dim: int = 32, max_freq: float = 30.0):
        super().__init__()
        from ..models import SinusoidalTimeEmbedding, VectorFieldMLP

        self.mlp = VectorFieldMLP(hidden=hidden, time_dim=time_dim)
        self.mlp.time_embed = SinusoidalTimeEmbedding(time_dim, max_freq=max_freq)

    def forward(self, x: Tensor, t: object) -> Tensor:
        return self.mlp(x, t)


def _loss(model: Callable, x_0: Tensor, x_1: Tensor, t: Tensor, path=linear_path) -> Tensor:
    x_t, u_t = path(x_0, x_1, t)
    return (model(x_t, t) - u_t).pow(2).sum(1).mean()


def fmlib_train(
    model: nn.Module,
    x_data: Tensor,
    steps: int,
    generator: torch.Generator,
    path: Callable = linear_path,
    batch_size: int = 256,
    lr: float = 5e-3,
) -> None:
    """The task's training loop (Adam on the CFM loss along ``path``, cosine decay), fmlib's stand-in."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        x_1 = x_data[torch.randint(len(x_data), (batch_size,), generator=generator)]
        x_0 = torch.randn(batch_size, 2, generator=generator)
        t = torch.rand(batch_size, generator=generator)
        loss = _loss(model, x_0, x_1, t, path)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()


def fmlib_euler_sample(v: Callable, x_0: Tensor, steps: int) -> Tensor:
    """Euler from t = 0 to 1 in ``steps`` equal steps (fmlib's ``solve``), the stand-in."""
    return solvers.solve(v, x_0, method="euler", steps=steps).x


# ---- part (1): the time embedding and the network --------------------------------------------


def check_time_embedding(
    time_embedding: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``time_embedding(t, dim, max_freq) -> (B, dim)``: sin and cos of w_k t. Exercise 6.2.1.

    w_k = max_freq^(k / (dim/2 - 1)), k = 0 .. dim/2 - 1 (geometric from 1 to max_freq). Any
    order of the columns passes (sin block then cos block, or interleaved).
    """

    def judge(out: object, t: Tensor, dim: int, max_freq: float) -> str | None:
        freqs = torch.exp(torch.linspace(0.0, math.log(max_freq), dim // 2, dtype=torch.float64))
        args = t.double()[:, None] * freqs[None]
        ref = torch.cat([args.sin(), args.cos()], dim=1)  # (B, dim)
        if not isinstance(out, Tensor):
            return _t(
                "expected a torch.Tensor of shape {shape}; got {kind}",
                shape=(t.shape[0], dim),
                kind=type(out).__name__,
            )
        got = as_tensor(out).cpu()
        if got.shape != ref.shape and got.shape == (dim, t.shape[0]):
            return _t(
                "transposed: got shape {got}, expected {expected}",
                got=tuple(got.shape),
                expected=(t.shape[0], dim),
            )
        if got.shape != ref.shape:
            return _t(
                "wrong shape: got {got}, expected {expected}",
                got=tuple(got.shape),
                expected=(t.shape[0], dim),
            )
        got = got.double()
        if not bool(torch.isfinite(got).all()):
            return _t("your embedding contains NaN or inf")
        unmatched = [
            k
            for k in range(dim)
            if not any(torch.allclose(got[:, j], ref[:, k], 1e-3, 2e-3) for j in range(dim))
        ]
        if not unmatched:
            return None
        if all(torch.allclose(got[:, j], got[:, 0]) for j in range(dim)) or torch.allclose(
            got[0], got[-1]
        ):
            return _t("your embedding does not change with t")
        slow = (t.double()[:, None] * freqs[None] * 2 * math.pi).sin()
        if any(torch.allclose(got[:, j], slow[:, 1], 1e-3, 2e-3) for j in range(dim)):
            return _t(
                "off by a factor 2 pi in the frequencies: use sin(w_k t) with w_k from 1 to "
                "max_freq"
            )
        return _t(
            "{n} of the {dim} expected columns (sin(w_k t), cos(w_k t)) are missing; check the "
            "frequencies w_k",
            n=len(unmatched),
            dim=dim,
        )

    def cases(g):
        out = []
        for dim, max_freq in (
            (8, 100.0),
            (16, 1000.0),
            (int(2 * torch.randint(2, 9, (), generator=g)), 30.0),
        ):
            t = torch.rand(
                int(2 * torch.randint(2, 6, (), generator=g) + 1), generator=g
            )  # odd B != dim
            out.append(Case(f"dim = {dim}", (t, dim, max_freq), judge))
        return out

    return _record(
        run_check(
            "time_embedding",
            time_embedding,
            cases,
            seed,
            quiet,
            withheld=("fmlib.models.SinusoidalTimeEmbedding.forward",),
        )
    )


def _tensor(out: object) -> Tensor:
    if not isinstance(out, Tensor) or out.device.type != "cpu":
        raise StudentError(
            _t("v(x, t) must be a torch.Tensor on the CPU; got {kind}", kind=type(out).__name__)
        )
    return out.detach().double()


def _modes(net: object) -> list[tuple[nn.Module, bool]]:
    modules = list(net.modules()) if isinstance(net, nn.Module) else []
    return [(m, m.training) for m in modules]


def check_vector_field(model: object, seed: int | None = None, quiet: bool = False) -> CheckResult:
    """A network ``model(x, t) -> (B, 2)`` with t a float or a (B,) tensor. Exercise 6.2.1.

    ``model`` is a module or a module class (built here with no arguments). It runs in eval mode
    (Dropout off, BatchNorm on its running statistics) and is put back as it was. Every row of
    ``model(x, t)`` with a (B,) tensor t must equal the row computed alone with its float t. A class must pass its ``max_freq`` on to the embedding.
    """
    built: list = []

    def network():
        if not built:
            net = model
            if isinstance(net, type):  # a class: build one (its __init__ may be unsolved yet)
                net = student_call(net, what=_t("building your network, `VectorField()`,"))
            if not callable(net):
                raise StudentError(
                    _t("expected a network (a torch.nn.Module); got {net!r}", net=net)
                )
            built.append(net)
        return built[0]

    def forward(x: Tensor, t: Tensor) -> object:
        net = network()
        modes = _modes(net)
        try:
            if isinstance(net, nn.Module):
                net.eval()
            with torch.no_grad():
                return net(x, t)
        finally:
            for m, mode in modes:
                m.train(mode)

    def judge(out: object, x: Tensor, t: Tensor) -> str | None:
        if not isinstance(out, Tensor):
            return _t(
                "v(x, t) must be a torch.Tensor of shape {shape}; got a {kind}",
                shape=tuple(x.shape),
                kind=type(out).__name__,
            )
        if out.shape != x.shape:
            return _t(
                "v(x, t) must have the shape of x, {shape}; got {got}",
                shape=tuple(x.shape),
                got=tuple(out.shape),
            )
        got = out.detach().double().cpu()
        if not bool(torch.isfinite(got).all()):
            return _t("v(x, t) contains NaN or inf")
        for i in range(x.shape[0]):
            try:
                one = student_call(forward, x[i : i + 1], float(t[i]), what=_t("your network"))
            except StudentError as error:
                return _t(
                    "with a float t (t = {t:.3f}, one point): {error}", t=float(t[i]), error=error
                )
            if not isinstance(one, Tensor) or one.shape != (1, 2):
                return _t(
                    "with a float t, v(x, t) for one point must have shape (1, 2); got {got}",
                    got=getattr(one, "shape", type(one).__name__),
                )
            if not torch.allclose(one.double().cpu()[0], got[i], 1e-4, 1e-5):
                return _t(
                    "row {i} of v(x, t) with a (B,) tensor t differs from v(x[{i}:{j}], "
                    "float(t[{i}])): does every row use its own t (t[:, None], not t[0])?",
                    i=i,
                    j=i + 1,
                )
        try:  # dopri5 hands the network a 0-d tensor t
            zero_d = _tensor(
                student_call(forward, x, torch.tensor(float(t[0])), what=_t("your network"))
            )
        except StudentError as error:
            return _t("with a 0-d tensor t (as an adaptive solver passes it): {error}", error=error)
        if zero_d.shape != x.shape or not torch.allclose(
            zero_d, _tensor(student_call(forward, x, float(t[0]))), 1e-4, 1e-5
        ):
            return _t("v(x, t) with a 0-d tensor t differs from v(x, t) with the same float t")
        if torch.allclose(
            _tensor(student_call(forward, x, t * 0 + 0.1)),
            _tensor(student_call(forward, x, t * 0 + 0.9)),
            1e-6,
            1e-7,
        ):
            return _t("v(x, t) does not depend on t: feed the time embedding to the network")
        if torch.allclose(
            _tensor(student_call(forward, x, t)),
            _tensor(student_call(forward, x + 1.0, t)),
            1e-6,
            1e-7,
        ):
            return _t("v(x, t) does not depend on x")
        net = network()
        if not any(p.requires_grad for p in getattr(net, "parameters", list)()):
            return _t(
                "the model has no trainable parameters: make it a torch.nn.Module with layers"
            )
        if isinstance(model, type):  # the class: max_freq must reach the embedding
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                slow = student_call(model, max_freq=30.0, what="VectorField(max_freq=30.0)")
                torch.manual_seed(0)
                fast = student_call(model, max_freq=1000.0, what="VectorField(max_freq=1000.0)")
            built[:] = [slow]
            a = _tensor(student_call(forward, x, t))
            built[:] = [fast]
            b = _tensor(student_call(forward, x, t))
            built[:] = [net]
            if torch.allclose(a, b, 1e-6, 1e-7):
                return _t(
                    "VectorField(max_freq=1000.0) gives the same field as max_freq=30.0: pass "
                    "max_freq on to time_embedding"
                )
        return None

    def cases(g):
        b = int(torch.randint(4, 10, (), generator=g))
        x, t = torch.randn(b, 2, generator=g), torch.rand(b, generator=g)
        return [Case(f"B = {b}", (x, t), judge)]

    return _record(
        run_check(
            "vector field network",
            forward,
            cases,
            seed,
            quiet,
            _t("Input (B, 2) and t, output (B, 2)."),
            withheld=(
                "fmlib.models.VectorFieldMLP.forward",
                "fmlib.models.SinusoidalTimeEmbedding.forward",
            ),
        )
    )


# ---- part (2): the CFM loss and the training loop --------------------------------------------


class _LinearModel(nn.Module):
    """v(x, t) = A x + t c with trainable A and c (a model the loss must carry gradients of)."""

    def __init__(self, g: torch.Generator):
        super().__init__()
        self.a = nn.Parameter(torch.randn(2, 2, generator=g, dtype=torch.float64))
        self.c = nn.Parameter(torch.randn(2, generator=g, dtype=torch.float64))

    def forward(self, x: Tensor, t: object) -> Tensor:
        return x @ self.a.T + torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1) * self.c


def _bent_path(x_0: Tensor, x_1: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """A test path: x_t = (1 - t) x_0 + t x_1 + t (1 - t) (1, -1)."""
    bend = torch.tensor([1.0, -1.0], dtype=x_0.dtype)
    return linear_path(x_0, x_1, t)[0] + (t * (1 - t))[:, None] * bend, (
        x_1 - x_0 + (1 - 2 * t)[:, None] * bend
    )


def check_cfm_loss(cfm_loss: Callable, seed: int | None = None, quiet: bool = False) -> CheckResult:
    """``cfm_loss(model, x_0, x_1, t, path=linear_path) -> scalar tensor``. Exercise 6.2.2.

    mean_b |v(x_t, t) - u_t|^2 with (x_t, u_t) = path(x_0, x_1, t), a tensor that carries the
    model's gradient; called without ``path`` (the straight path) and with another path. The
    mean over coordinates too (the same loss divided by D = 2) is accepted.
    """

    def loss(v, x_0, x_1, t, *path):
        out = student_call(cfm_loss, v, x_0, x_1, t, *path)
        with torch.no_grad():
            ref = _loss(v, x_0, x_1, t, *path)
        # accept the per-coordinate mean: an answer of exactly half the reference counts double
        if isinstance(out, Tensor) and out.numel() == 1:
            if math.isclose(float(out.detach()), float(ref) / 2, rel_tol=1e-4):
                return out.reshape(()) * 2
        return out

    def cases(g):
        out = []
        for k in range(3):
            b = int(torch.randint(5, 30, (), generator=g))
            v = _LinearModel(g)
            x_0, x_1, t = (
                torch.randn(b, 2, generator=g, dtype=torch.float64),
                torch.randn(b, 2, generator=g, dtype=torch.float64) + 2,
                torch.rand(b, generator=g, dtype=torch.float64),
            )
            path = () if k < 2 else (_bent_path,)
            label = _t("B = {b}, another path", b=b) if path else f"B = {b}"
            with torch.no_grad():
                ref = _loss(v, x_0, x_1, t, *path)
            out.append(Case(label, (v, x_0, x_1, t, *path), ref, differentiable=True))
        return out

    def hints(out, case):
        v, x_0, x_1, t, *path = case.inputs
        got = as_tensor(out)
        if path and got is not None and got.numel() == 1:
            with torch.no_grad():
                straight = float(_loss(v, x_0, x_1, t))
            if math.isclose(float(got), straight, rel_tol=1e-4) or math.isclose(
                float(got), straight / 2, rel_tol=1e-4
            ):
                return _t("you ignore the `path` argument: take x_t, u_t = path(x_0, x_1, t)")
        return None

    return _record(
        run_check(
            "cfm_loss",
            loss,
            cases,
            seed,
            quiet,
            hints=hints,
            withheld=("fmlib.training.cfm_loss",),
        )
    )


def _measure(model: nn.Module, g: torch.Generator) -> tuple[float, float]:
    """The CFM loss on 4000 fresh pairs and W2 of 1000 Euler samples (50 steps), in eval mode."""
    from ..paths import linear_path as fm_linear_path
    from ..training import cfm_loss

    x_1 = data.two_moons(4000, generator=g)
    x_0 = torch.randn(4000, 2, generator=g)
    t = torch.rand(4000, generator=g)
    modes = _modes(model)
    model.eval()
    try:
        with torch.no_grad():
            loss = float(cfm_loss(model, fm_linear_path(), x_0, x_1, t))
            x = solvers.solve(model, torch.randn(1000, 2, generator=g), steps=50).x
    finally:
        for m, mode in modes:
            m.train(mode)
    if not bool(torch.isfinite(x).all()):
        return loss, math.inf
    return loss, ot.w2(x, data.two_moons(1000, generator=g))


def check_training_loop(
    train: Callable, seed: int | None = None, quiet: bool = False, steps: int = 600
) -> CheckResult:
    """``train(model, x_data, steps, generator, path=linear_path)`` trains ``model`` in place. Exercise 6.2.2.

    A fresh ``fmlib.VectorFieldMLP`` is trained for ``steps`` steps on 4000 two-moons points;
    it passes when its CFM loss, measured independently on fresh pairs, has dropped well below
    the untrained loss and its Euler samples are near the moons (W2 below 0.35). A short second
    run checks that ``path`` reaches the loss.
    """
    from ..models import VectorFieldMLP

    def judge(out, model, x_data, steps, generator, before):
        if any(not bool(torch.isfinite(p).all()) for p in model.parameters()):
            return _t(
                "the model's parameters are NaN or inf after training: the loss diverged (is "
                "the learning rate too large? about 5e-3 suits Adam here)"
            )
        after, w2 = _measure(model, torch.Generator().manual_seed(1))
        if not math.isfinite(after) or after > 1.1 * before:
            return _t(
                "the CFM loss went up ({before:.3f} before, {after:.3f} after): the training "
                "diverged (a learning rate too large?) or steps go uphill (loss.backward() "
                "on minus the loss, or the target reversed?)",
                before=before,
                after=after,
            )
        if after > 0.9 * before:
            return _t(
                "the CFM loss did not drop ({before:.3f} before, {after:.3f} after): do you "
                "call optimizer.step() on the model's parameters, after loss.backward()?",
                before=before,
                after=after,
            )
        if w2 > 0.35:
            return _t(
                "the loss dropped ({before:.3f} -> {after:.3f}) but Euler samples are far from "
                "the moons (W2 = {w2:.3f}): check x_t and the target x_1 - x_0",
                before=before,
                after=after,
                w2=w2,
            )
        return None

    calls: list[int] = []

    def spy(x_0, x_1, t):
        calls.append(1)
        return linear_path(x_0, x_1, t)

    def judge_path(out, model, x_data, steps, generator, path):
        if not calls:
            return _t("your loop ignores its `path` argument: pass it on to cfm_loss(..., path)")
        return None

    def cases(g):
        torch.manual_seed(int(torch.randint(0, 2**31, (), generator=g)))
        model = VectorFieldMLP()
        x_data = data.two_moons(4000, generator=g)
        before, _ = _measure(model, torch.Generator().manual_seed(1))
        generator = torch.Generator().manual_seed(int(torch.randint(0, 2**31, (), generator=g)))
        short = (VectorFieldMLP(), x_data, 3, torch.Generator().manual_seed(0), spy)
        return [
            Case(_t("{n} steps", n=steps), (model, x_data, steps, generator, before), judge),
            Case(_t("3 steps along another path"), short, judge_path),
        ]

    def run(model, x_data, steps, generator, last):
        if callable(last):  # the path case
            return train(model, x_data, steps, generator, path=last)
        return train(model, x_data, steps, generator)

    return _record(
        run_check(
            "training loop",
            run,
            cases,
            seed,
            quiet,
            _t("The loss dropped and samples reach the moons."),
            withheld=("fmlib.training.train_cfm",),
        )
    )


# ---- part (3): Euler ---------------------------------------------------------------------------


def check_euler_sample(
    euler_sample: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``euler_sample(v, x_0, steps) -> x_1``: Euler from t = 0 to 1 in equal steps. Exercise 6.2.3."""

    def cases(g):
        out = []
        for _ in range(2):
            b, d = random_batch(g)
            n = int(torch.randint(3, 12, (), generator=g))
            x_0 = torch.randn(b, d, generator=g, dtype=torch.float64)
            a = torch.randn(d, d, generator=g, dtype=torch.float64)
            # v = A x: n Euler steps multiply by (I + A / n)^n
            step = torch.linalg.matrix_power(torch.eye(d, dtype=torch.float64) + a / n, n)
            out.append(Case(_t("v = A x, {n} steps", n=n), (matrix_field(a), x_0, n), x_0 @ step.T))
            # v = t c: Euler sums t_k / n at the left ends t_k = k / n, giving c (n - 1) / (2 n)
            c = torch.randn(d, generator=g, dtype=torch.float64)
            ref = x_0 + c * (n - 1) / (2 * n)
            out.append(Case(_t("v = t c, {n} steps", n=n), (_time_field(c), x_0, n), ref))
        return out

    def hints(out, case):
        v, x_0, n = case.inputs
        got = as_tensor(out)
        if got is None or got.shape != x_0.shape:
            return None
        if torch.allclose(got.double(), x_0):
            return _t("you return x_0 unchanged: did the loop run?")
        x = x_0
        for k in range(n):  # Euler with the slope at the end of each step
            x = x + v(x, (k + 1) / n) / n
        if not torch.allclose(x, case.expected) and torch.allclose(got.double(), x):
            return _t("you evaluate v at the end of each step (t + dt); Euler uses the start, t")
        return None

    return _record(
        run_check(
            "euler_sample",
            euler_sample,
            cases,
            seed,
            quiet,
            hints=hints,
            withheld=("fmlib.solvers.solve", "fmlib.solvers.euler_step"),
        )
    )


def _time_field(c: Tensor) -> Callable:
    """v(x, t) = t c, for every row of x."""
    return lambda x, t: torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1) * c + 0 * x


# ---- part (4): a path of your design -----------------------------------------------------------


def time_in_gap(path: Callable, x_0: Tensor, x_1: Tensor, nodes: int = 65) -> tuple[float, Tensor]:
    """The share of time t in [0, 1] the conditional paths x_0 -> x_1 spend in the moons' gap
    (``fmlib.data.moons_gap``), by the trapezoid rule on ``nodes`` times; also per pair: (B,)."""
    ts = torch.linspace(0.0, 1.0, nodes, dtype=x_0.dtype)
    flags = []
    for s in ts:
        x_t, _ = path(x_0, x_1, torch.full((x_0.shape[0],), float(s), dtype=x_0.dtype))
        flags.append(data.moons_gap(torch.as_tensor(x_t).detach().to(x_0.dtype)).double())
    f = torch.stack(flags)  # (nodes, B)
    per_pair = 0.5 * (f[1:] + f[:-1]).mean(0)
    return float(per_pair.mean()), per_pair


def _pair(out: object, b: int, what: str) -> tuple[Tensor, Tensor]:
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise StudentError(
            _t(
                "{what} must return two tensors, (x_t, u_t); got {kind}",
                what=what,
                kind=type(out).__name__,
            )
        )
    for name, z in zip(("x_t", "u_t"), out, strict=True):
        if not isinstance(z, Tensor) or z.shape != (b, 2):
            raise StudentError(
                _t(
                    "{what}: {name} must be a ({b}, 2) tensor; got {got}",
                    what=what,
                    name=name,
                    b=b,
                    got=getattr(z, "shape", type(z).__name__),
                )
            )
        if not bool(torch.isfinite(z.detach()).all()):
            raise StudentError(
                _t(
                    "{what}: {name} contains NaN or inf (a division by |x_1 - x_0|?)",
                    what=what,
                    name=name,
                )
            )
    return out[0], out[1]


def check_path(path: Callable, seed: int | None = None, quiet: bool = False) -> CheckResult:
    """``path(x_0, x_1, t) -> (x_t, u_t)``, a path of the student's design. Exercise 6.2.4.

    Any path passes that (a) starts at x_0 at t = 0 and ends at x_1 at t = 1, (b) returns u_t
    equal to d x_t / d t (autograd's, row by row), and (c) spends less time in the moons' gap
    than the straight path on the same 4000 (noise, data) pairs, by more than three paired
    standard errors.
    """

    def judge_valid(out, x_0, x_1, t):
        b = x_0.shape[0]
        x_t, u_t = _pair(out, b, _t("your path"))
        for s, end, name in ((0.0, x_0, "x_0"), (1.0, x_1, "x_1")):
            at, _ = _pair(
                student_call(path, x_0.clone(), x_1.clone(), torch.full((b,), s, dtype=x_0.dtype)),
                b,
                _t("your path at t = {t:.0f}", t=s),
            )
            if not torch.allclose(at.detach().double(), end, 1e-5, 1e-6):
                return _t(
                    "x_t at t = {t:.0f} must be {name} (the boundary condition); it is not",
                    t=s,
                    name=name,
                )
        tt = t.clone().requires_grad_(True)
        with torch.enable_grad():
            x_tt, _ = _pair(student_call(path, x_0.clone(), x_1.clone(), tt), b, _t("your path"))
            if not x_tt.requires_grad:
                return _t(
                    "x_t does not depend on t through torch operations (float(t), .item() or "
                    "NumPy?): write it with torch so that d x_t / d t can be checked"
                )
            grads = []
            for j in range(2):
                (g_j,) = torch.autograd.grad(
                    x_tt[:, j].sum(), tt, retain_graph=True, allow_unused=True
                )
                grads.append(torch.zeros_like(tt) if g_j is None else g_j)
            dx = torch.stack(grads, dim=1)
        if not torch.allclose(u_t.detach().double(), dx.double(), 1e-4, 1e-5):
            err = float((u_t.detach().double() - dx.double()).abs().max())
            return _t(
                "u_t is not d x_t / d t (autograd's derivative differs by up to {err:.3g}): "
                "differentiate x_t in t",
                err=err,
            )
        return None

    def judge_gap(out, x_0, x_1, t):
        _pair(out, x_0.shape[0], _t("your path"))
        straight, per_straight = time_in_gap(linear_path, x_0, x_1)
        yours, per_yours = time_in_gap(lambda *a: student_call(path, *a), x_0, x_1)
        diff = per_yours - per_straight
        se = float(diff.std() / math.sqrt(diff.numel()))
        if float(diff.mean()) < -3 * se and yours < straight:
            return None
        return _t(
            "a valid path, but it spends {yours:.3f} of its time in the gap, the straight path "
            "{straight:.3f} (the same pairs): bend or time it so that it crosses the gap less",
            yours=yours,
            straight=straight,
        )

    def cases(g):
        b = int(torch.randint(4, 10, (), generator=g))
        x_0 = torch.randn(b, 2, generator=g, dtype=torch.float64)
        x_1 = torch.randn(b, 2, generator=g, dtype=torch.float64)
        t = 0.05 + 0.9 * torch.rand(b, generator=g, dtype=torch.float64)
        n = 4000
        z_0 = torch.randn(n, 2, generator=g, dtype=torch.float64)
        z_1 = data.two_moons(n, generator=g).double()
        t_1 = torch.rand(n, generator=g, dtype=torch.float64)
        return [
            Case(_t("boundaries and u_t, B = {b}", b=b), (x_0, x_1, t), judge_valid),
            Case(_t("time in the gap, {n} pairs", n=n), (z_0, z_1, t_1), judge_gap),
        ]

    return _record(
        run_check(
            "path",
            path,
            cases,
            seed,
            quiet,
            _t("A valid path that avoids the gap more than the straight one."),
            withheld=("fmlib.paths.CurvedPath.sample", "fmlib.paths.AffinePath.sample"),
        )
    )


def fmlib_design_path(x_0: Tensor, x_1: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """fmlib's stand-in design: the straight segment, retimed to move fast early, s = 1 - (1 - t)^2."""
    s = 1 - (1 - t) ** 2
    return x_0 + s[:, None] * (x_1 - x_0), (2 * (1 - t))[:, None] * (x_1 - x_0)


# ---- the measurements of parts (3) and (4): paired draws, medians ------------------------------

DRAWS, N = 5, 2000


def _noise(k: int, n: int = N) -> Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(100 + k))


def _fresh_data(k: int, n: int = N) -> Tensor:
    return data.two_moons(n, generator=torch.Generator().manual_seed(200 + k))


def solver_row(model: Callable, sample: Callable, solver: int | float) -> tuple[float, float]:
    """(NFE, W2) of one solver on ``model``, medians over 5 paired draws of 2000 points.

    ``solver``: an int is that many steps of ``sample(model, x_0, steps)`` (an Euler sampler,
    ``steps`` evaluations); a float is dopri5 at rtol = atol = ``solver``. Draw k uses the same
    noise and the same fresh data sample for every solver and model.
    """
    nfes, w2s = [], []
    for k in range(DRAWS):
        with torch.no_grad():
            if isinstance(solver, int):
                x, nfe = sample(model, _noise(k), solver), solver
            else:
                solution = solvers.solve(
                    model, _noise(k), method="dopri5", rtol=solver, atol=solver
                )
                x, nfe = solution.x, solution.nfe
        nfes.append(float(nfe))
        w2s.append(ot.w2(x, _fresh_data(k)))
    return float(torch.tensor(nfes).median()), float(torch.tensor(w2s).median())


def path_row(model: Callable, path: Callable, sample: Callable) -> tuple[float, float, float]:
    """(time in the gap of ``path``'s conditional paths, W2 median, mean share of samples in the
    gap) for ``model`` trained on ``path``: 4000 fixed (noise, data) pairs for the first, the
    5 paired draws of ``solver_row`` with 16 steps of ``sample`` for the others."""
    g = torch.Generator().manual_seed(300)
    x_0, x_1 = torch.randn(4000, 2, generator=g), data.two_moons(4000, generator=g)
    with torch.no_grad():
        gap, _ = time_in_gap(path, x_0, x_1)
    ends, w2s = [], []
    for k in range(DRAWS):
        with torch.no_grad():
            x = sample(model, _noise(k), 16)
        ends.append(float(data.moons_gap(x).double().mean()))
        w2s.append(ot.w2(x, _fresh_data(k)))
    return gap, float(torch.tensor(w2s).median()), sum(ends) / DRAWS
