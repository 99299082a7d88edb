"""What every check shares: ``CheckResult``, ``compare``, ``run_check`` and the random test
fields and batch sizes the section checks draw from."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch
from torch import Tensor


class CheckResult:
    """What a check found: ``passed`` and the ``message`` it printed. Truthy when passed."""

    def __init__(self, name: str, passed: bool, message: str):
        self.name, self.passed, self.message = name, passed, message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, passed={self.passed})"

    def _ipython_display_(self) -> None:
        # the message is already printed; show nothing more as a cell's last value
        pass


def _fresh_seed(seed: int | None) -> int:
    return int.from_bytes(os.urandom(4), "little") if seed is None else int(seed)


def _as_tensor(out: object) -> Tensor | None:
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
    got = _as_tensor(out)
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
    cases: Callable[[torch.Generator], list[tuple[Callable[[], object], object, str, tuple]]],
    seed: int | None = None,
    quiet: bool = False,
    ok: str = "",
    special: Callable[[object, Tensor, tuple], str | None] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> CheckResult:
    """Run ``cases(generator)`` -> [(call, reference, label, inputs)] and report; never raises.

    A reference is a tensor to compare with, or a judge ``ref(out) -> hint or None`` for answers
    that are right by a property rather than by value.
    ``special(out, ref, inputs)`` may replace the generic hint for a wrong answer with a
    task-specific one (Euler instead of Heun, ...). An answer that is one value for every input
    of every case, while the references vary, is reported as a constant.
    """
    generator = torch.Generator().manual_seed(_fresh_seed(seed))
    message = None
    try:
        with torch.random.fork_rng(devices=[]):
            todo = cases(generator)
            for call, ref, label, inputs in todo:
                try:
                    out = call()
                except NotImplementedError:
                    message = (
                        "not implemented yet: replace `raise NotImplementedError()` with your code"
                    )
                    break
                except Exception as error:  # the student's code may fail in any way
                    message = f"{label}: your function raised {type(error).__name__}: {error}"
                    break
                if callable(ref):  # a judge for answers right by a property (any optimal pairing)
                    hint = ref(out)
                    message = f"{label}: {hint}" if hint is not None else None
                else:
                    hint = compare(out, ref, label, inputs, rtol, atol)
                    extra = special(out, ref, inputs) if hint and special is not None else None
                    message = f"{label}: {extra}" if extra else hint
                if message is not None:
                    if isinstance(ref, Tensor):
                        message = _constant(todo, out, ref) or message
                    break
    except Exception as error:  # a bug in a check must not crash a student's kernel either
        message = (
            f"the check itself failed ({type(error).__name__}: {error}); please tell your teacher"
        )
    passed = message is None
    text = f"✔ {name}: correct{'. ' + ok if ok else ''}" if passed else f"✘ {name}: {message}"
    if not quiet:
        print(text)
    return CheckResult(name, passed, text)


def _constant(todo: list, out: object, ref: object) -> str | None:
    """A hint if the answers to all cases are one and the same number while the references vary."""
    values, refs = [_as_tensor(out)], [ref]
    for call, other, _, _ in todo:
        try:
            values.append(_as_tensor(call()))
        except Exception:
            return None
        refs.append(other)
    if any(v is None or v.numel() == 0 for v in values):
        return None
    flat = torch.cat([v.double().flatten() for v in values])
    refs = [r for r in refs if isinstance(r, Tensor)]
    varying = bool(refs) and float(torch.cat([r.double().flatten() for r in refs]).std()) > 1e-9
    if bool((flat == flat[0]).all()) and (varying or not refs):
        return f"your function returns {float(flat[0]):.4g} whatever the input (a constant?)"
    return None


# Random test fields shared by the checks: a linear field with a closed-form Jacobian and a
# small nonlinear one whose Jacobian autograd gives.


def _linear_field(generator: torch.Generator, d: int):
    a = torch.randn(d, d, generator=generator, dtype=torch.float64)
    b = torch.randn(d, generator=generator, dtype=torch.float64)

    def v(x: Tensor, t: object) -> Tensor:
        t = torch.as_tensor(t, dtype=x.dtype)
        return (1 + t.reshape(-1, 1)) * (x @ a.T) + b

    return v, a


def _nonlinear_field(generator: torch.Generator, d: int):
    w_1 = torch.randn(16, d + 1, generator=generator, dtype=torch.float64)
    w_2 = torch.randn(d, 16, generator=generator, dtype=torch.float64) / 4

    def v(x: Tensor, t: object) -> Tensor:
        t = torch.as_tensor(t, dtype=x.dtype).expand(x.shape[0])
        return torch.tanh(torch.cat([x, t[:, None]], dim=1) @ w_1.T) @ w_2.T

    return v


def _jacobians(v, x: Tensor, t: object) -> Tensor:
    """dv/dx for each row: (B, D, D), row by row with torch.autograd.functional.jacobian."""
    return torch.stack(
        [torch.autograd.functional.jacobian(lambda r: v(r[None], t)[0], row) for row in x]
    )


def _batch(generator: torch.Generator) -> tuple[int, int]:
    return int(torch.randint(3, 9, (), generator=generator)), int(
        torch.randint(2, 6, (), generator=generator)
    )
