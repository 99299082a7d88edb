"""What every check shares: ``Case``, ``run_check``, ``compare``, ``CheckResult``, and the random
test fields and batch sizes the section checks draw from.

A section check is a list of ``Case`` objects (these inputs, this reference, a label) built from a
generator, the student's function, and optionally ``hints(out, case)`` for task-specific hints
(Euler instead of Heun, ...); ``run_check`` calls, compares and reports, and never raises.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


class CheckResult:
    """What a check found: ``passed``, the ``message`` it printed, and the ``seed`` of its cases.

    Truthy when passed; ``check(answer, seed=result.seed)`` replays the same cases.
    """

    def __init__(self, name: str, passed: bool, message: str, seed: int | None = None):
        self.name, self.passed, self.message, self.seed = name, passed, message, seed

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, passed={self.passed}, seed={self.seed})"

    def _ipython_display_(self) -> None:
        # the message is already printed; show nothing more as a cell's last value
        pass


@dataclass(frozen=True)
class Case:
    """One call of the student's function: these ``inputs``, this reference, this ``label``.

    ``expected`` is the reference value (a tensor), or a judge ``expected(out, *inputs) -> hint or
    None`` for answers that are right by a property rather than by value (any optimal pairing).
    Tensors among the inputs are cloned for every call, so an answer that writes into its input
    cannot change the reference or the next call.
    """

    label: str
    inputs: tuple
    expected: Tensor | Callable[..., str | None]

    def call(self, function: Callable) -> object:
        return function(*(x.clone() if isinstance(x, Tensor) else x for x in self.inputs))


def _fresh_seed(seed: int | None) -> int:
    return int.from_bytes(os.urandom(4), "little") if seed is None else int(seed)


def as_tensor(out: object) -> Tensor | None:
    if isinstance(out, Tensor):
        return out.detach()
    try:
        return torch.as_tensor(out, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None


def compare(
    out: object,
    ref: Tensor,
    what: str,
    inputs: Sequence[Tensor] = (),
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> str | None:
    """None if ``out`` equals ``ref`` within tolerance; otherwise a hint naming what is wrong."""
    if out is None:
        return f"{what}: your function returned None. Did you forget `return`?"
    got = as_tensor(out)
    if got is None:
        return f"{what}: expected a torch.Tensor of shape {tuple(ref.shape)}; got a {type(out).__name__}"
    got, ref = got.double(), ref.detach().double()
    if got.shape != ref.shape:
        if (
            got.ndim == 2
            and got.shape == ref.shape[::-1]
            and torch.allclose(got.T, ref, rtol, atol)
        ):
            return f"{what}: right numbers, but transposed: got shape {tuple(got.shape)}, expected {tuple(ref.shape)}"
        if got.numel() == ref.numel() and torch.allclose(got.reshape(ref.shape), ref, rtol, atol):
            return f"{what}: right numbers, wrong shape: got {tuple(got.shape)}, expected {tuple(ref.shape)}"
        return f"{what}: wrong shape: got {tuple(got.shape)}, expected {tuple(ref.shape)}"
    if not bool(torch.isfinite(got).all()):
        return (
            f"{what}: your result contains NaN or inf (a division by zero, or log of a negative?)"
        )
    if torch.allclose(got, ref, rtol, atol):
        return None
    if torch.allclose(got, -ref, rtol, atol):
        return f"{what}: wrong sign: you return minus the expected value"
    for x in inputs:
        if isinstance(x, Tensor) and x.shape == got.shape and torch.allclose(got, x.double()):
            return f"{what}: you return one of the inputs unchanged"
    if not bool(got.any()):
        return f"{what}: you return zeros"
    scale = float((got * ref).sum() / (ref * ref).sum().clamp_min(1e-300))
    if (
        abs(scale - 1) > 1e-3
        and abs(scale) > 1e-3
        and torch.allclose(got, scale * ref, rtol * 10, atol * 10)
    ):
        return f"{what}: off by a constant factor: yours is {scale:.4g} x the expected value"
    err = (got - ref).abs()
    i = int(err.argmax())
    return (
        f"{what}: values differ from the reference (largest error {float(err.max()):.3g}: "
        f"got {float(got.flatten()[i]):.5g} where {float(ref.flatten()[i]):.5g} was expected)"
    )


def run_check(
    name: str,
    function: Callable,
    cases: Callable[[torch.Generator], Sequence[Case]],
    seed: int | None = None,
    quiet: bool = False,
    ok: str = "",
    hints: Callable[[object, Case], str | None] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> CheckResult:
    """Call ``function`` on every ``Case`` of ``cases(generator)`` and report; never raises.

    A wrong answer gets ``compare``'s generic hint, unless ``hints(out, case)`` names a
    task-specific one. An answer that is one value for every input of every case, while the
    references vary, is reported as a constant. ``seed`` fixes the cases (default: a fresh one).
    """
    seed = _fresh_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    message = None
    try:
        with torch.random.fork_rng(devices=[]):
            todo = list(cases(generator))
            for case in todo:
                message = _judge(function, case, hints, rtol, atol)
                if message is not None:
                    if isinstance(case.expected, Tensor) and not message.startswith("not impl"):
                        message = _constant(function, todo, case) or message
                    break
    except Exception as error:  # a bug in a check must not crash a student's kernel either
        message = (
            f"the check itself failed ({type(error).__name__}: {error}); please tell your teacher"
        )
    passed = message is None
    text = f"✔ {name}: correct{'. ' + ok if ok else ''}" if passed else f"✘ {name}: {message}"
    if not quiet:
        print(text)
    return CheckResult(name, passed, text, seed)


def _judge(function, case: Case, hints, rtol: float, atol: float) -> str | None:
    """None if the answer to ``case`` is right; otherwise the message to print."""
    try:
        out = case.call(function)
    except NotImplementedError:
        return "not implemented yet: replace `raise NotImplementedError()` with your code"
    except Exception as error:  # the student's code may fail in any way
        return f"{case.label}: your function raised {type(error).__name__}: {error}"
    if not isinstance(case.expected, Tensor):  # a judge: right by a property
        hint = case.expected(out, *case.inputs)
        return f"{case.label}: {hint}" if hint is not None else None
    hint = compare(out, case.expected, case.label, case.inputs, rtol, atol)
    special = hints(out, case) if hint is not None and hints is not None else None
    return f"{case.label}: {special}" if special else hint


def _constant(function, todo: Sequence[Case], failed: Case) -> str | None:
    """A hint if the answers to all cases are one and the same number while the references vary."""
    values = []
    for case in [failed, *todo]:
        try:
            values.append(as_tensor(case.call(function)))
        except Exception:
            return None
    if any(v is None or v.numel() == 0 for v in values):
        return None
    flat = torch.cat([v.double().flatten() for v in values])
    refs = [c.expected for c in todo if isinstance(c.expected, Tensor)]
    varying = bool(refs) and float(torch.cat([r.double().flatten() for r in refs]).std()) > 1e-9
    if bool((flat == flat[0]).all()) and (varying or not refs):
        return f"your function returns {float(flat[0]):.4g} whatever the input (a constant?)"
    return None


# Random test fields shared by the checks: a linear field with a closed-form Jacobian and a
# small nonlinear one whose Jacobian autograd gives.


def random_batch(generator: torch.Generator) -> tuple[int, int]:
    """A batch size B in 3..8 and a dimension D in 2..5."""
    return int(torch.randint(3, 9, (), generator=generator)), int(
        torch.randint(2, 6, (), generator=generator)
    )


def matrix_field(a: Tensor) -> Callable[[Tensor, object], Tensor]:
    """v(x, t) = A x, rows of x: (B, D)."""
    return lambda x, t: x @ a.T


def linear_field(generator: torch.Generator, d: int):
    """v(x, t) = (1 + t) A x + b with a random A: (D, D); returns (v, A). div v = (1 + t) tr A."""
    a = torch.randn(d, d, generator=generator, dtype=torch.float64)
    b = torch.randn(d, generator=generator, dtype=torch.float64)

    def v(x: Tensor, t: object) -> Tensor:
        t = torch.as_tensor(t, dtype=x.dtype)
        return (1 + t.reshape(-1, 1)) * (x @ a.T) + b

    return v, a


def nonlinear_field(generator: torch.Generator, d: int):
    """A random one-hidden-layer tanh field v(x, t), time-dependent, float64."""
    w_1 = torch.randn(16, d + 1, generator=generator, dtype=torch.float64)
    w_2 = torch.randn(d, 16, generator=generator, dtype=torch.float64) / 4

    def v(x: Tensor, t: object) -> Tensor:
        t = torch.as_tensor(t, dtype=x.dtype).expand(x.shape[0])
        return torch.tanh(torch.cat([x, t[:, None]], dim=1) @ w_1.T) @ w_2.T

    return v


def jacobians(v, x: Tensor, t: object) -> Tensor:
    """dv/dx for each row: (B, D, D), row by row with torch.autograd.functional.jacobian."""
    return torch.stack(
        [torch.autograd.functional.jacobian(lambda r: v(r[None], t)[0], row) for row in x]
    )
