"""What every check shares: ``Case``, ``run_check``, ``compare``, ``CheckResult``, and the random
test fields and batch sizes the section checks draw from.

A section check is a list of ``Case`` objects (these inputs, this reference, a label) built from a
generator, the student's function, and optionally ``hints(out, case)`` for task-specific hints
(Euler instead of Heun, ...); ``run_check`` calls, compares and reports, and never raises.

``withheld``: a task must not pass by calling fmlib's own implementation of it. ``run_check(...,
withheld=("fmlib.likelihood.divergence_exact",))`` names, as dotted paths, the fmlib functions
(module functions, or methods as ``fmlib.analytic.GaussianMixture.velocity``) that are the answer
to the task. While the student's function runs, each of them raises ``WithheldError`` with a kind
message, and the check reports "`fm.likelihood.divergence_exact` is the library's answer to this
task; write this one yourself" (not a failure of the check), even if the student's code caught
the error. The function object itself is disabled (its ``__code__`` is swapped for the duration
of the call and restored in ``finally``), so the answer is refused under any name it was imported
as (``from fmlib.likelihood import divergence_exact as d``, ``fm.divergence_exact``, an alias
stored in a dict). The check's own references, judges and hints run outside that window and use
the real function.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..i18n import t as _t


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
    cannot change the reference or the next call; such an answer is told so (it would change
    the caller's tensor in a notebook). ``differentiable``: the answer must be a tensor that
    carries a gradient (a loss to call ``backward()`` on), not a float.
    """

    label: str
    inputs: tuple
    expected: Tensor | Callable[..., str | None]
    differentiable: bool = False

    def call(self, function: Callable) -> object:
        """``function(*inputs)`` through ``student_call``; a ``StudentError`` if it wrote into them."""
        copies = [x.clone() if isinstance(x, Tensor) else x for x in self.inputs]
        out = student_call(function, *copies)
        for k, (x, copy) in enumerate(zip(self.inputs, copies, strict=True)):
            if isinstance(x, Tensor) and not _same(x, copy):
                raise StudentError(
                    _t(
                        "your function changed its input {argument} in place "
                        "(x += ..., x[...] = ..., or a method ending in _): work on a copy or a "
                        "new tensor, so that the caller's tensor stays as it was",
                        argument=_argument(function, k),
                    )
                )
        return out


def _same(a: Tensor, b: Tensor) -> bool:
    with torch.no_grad():
        return a.shape == b.shape and bool(
            torch.equal(a, b)
            or torch.equal(a.isnan(), b.isnan())
            and torch.equal(a.nan_to_num(), b.nan_to_num())
        )


def _argument(function: Callable, k: int) -> str:
    import inspect

    try:
        names = list(inspect.signature(function).parameters)
        return (
            f"`{names[k]}`"
            if k < len(names) and not names[k].startswith("*")
            else _t("number {k}", k=k + 1)
        )
    except (TypeError, ValueError):
        return _t("number {k}", k=k + 1)


def _fresh_seed(seed: int | None) -> int:
    return int.from_bytes(os.urandom(4), "little") if seed is None else int(seed)


def as_tensor(out: object) -> Tensor | None:
    """``out`` as a detached tensor (floats as float64, integers kept); None if it is not numbers."""
    if isinstance(out, Tensor):
        return out.detach()
    try:
        got = torch.as_tensor(out)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        return None
    return got.double() if got.is_floating_point() else got


def shaped(out: object, shape) -> Tensor | None:
    """``out`` as a float64 tensor if it has ``shape`` (a tuple or a ``torch.Size``), else None:
    what a hint needs before it compares an answer with its reference."""
    got = as_tensor(out)
    if got is None or got.shape != shape:
        return None
    return got.double()


def _kind(out: object) -> str:
    cls = type(out)
    return f"{cls.__module__}.{cls.__name__}" if cls.__module__ == "numpy" else cls.__name__


def compare(
    out: object,
    ref: Tensor,
    what: str,
    inputs: Sequence[Tensor] = (),
    rtol: float = 1e-4,
    atol: float = 1e-5,
    differentiable: bool = False,
) -> str | None:
    """None if ``out`` equals ``ref`` within tolerance; otherwise a hint naming what is wrong.

    A 0-d ``ref`` accepts a float or a one-element tensor; any other ``ref`` wants a tensor (a
    list or a NumPy array is told to become one), on the CPU. With ``differentiable`` the answer
    must carry a gradient.
    """
    return _compare(out, ref, what, inputs, rtol, atol, differentiable)[0]


def _compare(
    out: object,
    ref: Tensor,
    what: str,
    inputs: Sequence[Tensor] = (),
    rtol: float = 1e-4,
    atol: float = 1e-5,
    differentiable: bool = False,
) -> tuple[str | None, bool]:
    """``compare``'s hint, and whether it is one about the values only (``generic``): a constant
    or a common factor found across the cases says more than those, and nothing else (a shape, no
    gradient, NaN) is replaced."""
    hint = _compare_shape(out, ref, what, differentiable, rtol, atol)
    if hint is not None:
        return hint, False
    got, ref = as_tensor(out).double(), ref.detach().double()
    scalar = ref.ndim == 0
    if scalar and got.numel() == 1:
        got = got.reshape(())
    if torch.allclose(got, ref, rtol, atol):
        return None, False
    if torch.allclose(got, -ref, rtol, atol):
        return _t("{what}: wrong sign: you return minus the expected value", what=what), False
    for x in inputs:
        if isinstance(x, Tensor) and x.shape == got.shape and torch.allclose(got, x.double()):
            return _t("{what}: you return one of the inputs unchanged", what=what), False
    if not bool(got.any()):
        return _t("{what}: you return zeros", what=what), True
    if scalar:
        return _t(
            "{what}: the value differs: got {got:.6g}, expected {expected:.6g}",
            what=what,
            got=float(got),
            expected=float(ref),
        ), True
    err = (got - ref).abs()
    i = int(err.argmax())
    return _t(
        "{what}: values differ from the reference (largest error {error:.3g}: got {got:.5g} "
        "where {expected:.5g} was expected)",
        what=what,
        error=float(err.max()),
        got=float(got.flatten()[i]),
        expected=float(ref.flatten()[i]),
    ), True


def _compare_shape(
    out: object, ref: Tensor, what: str, differentiable: bool, rtol: float, atol: float
) -> str | None:
    """A hint if ``out`` is not a finite CPU tensor (or number) shaped as ``ref``; else None."""
    if out is None:
        return _t("{what}: your function returned None. Did you forget `return`?", what=what)
    scalar = ref.ndim == 0
    if differentiable and not (isinstance(out, Tensor) and out.requires_grad):
        if isinstance(out, Tensor):
            return _t(
                "{what}: your result carries no gradient (got a {kind} without grad_fn): return "
                "the tensor itself, without .item(), float() or torch.no_grad(), so that "
                "loss.backward() can train the network",
                what=what,
                kind=_kind(out),
            )
        return _t(
            "{what}: your result carries no gradient (got a {kind}): return the tensor itself, "
            "without .item(), float() or torch.no_grad(), so that loss.backward() can train the "
            "network",
            what=what,
            kind=_kind(out),
        )
    if not isinstance(out, Tensor) and not scalar:
        got = as_tensor(out)
        if got is None:
            return _t(
                "{what}: expected a torch.Tensor of shape {shape}; got a {kind}",
                what=what,
                shape=tuple(ref.shape),
                kind=_kind(out),
            )
        return _t(
            "{what}: expected a torch.Tensor of shape {shape}; got a {kind} of shape {got}: "
            "convert it with torch.as_tensor(...)",
            what=what,
            shape=tuple(ref.shape),
            kind=_kind(out),
            got=tuple(got.shape),
        )
    if isinstance(out, Tensor) and out.device.type != "cpu":
        return _t(
            "{what}: your result is on {device} but the inputs are on the CPU: keep it there (no "
            ".cuda() or .to(device) inside the function)",
            what=what,
            device=out.device,
        )
    got = as_tensor(out)
    if got is None or got.is_complex() or got.dtype == torch.bool:
        return _t(
            "{what}: expected a torch.Tensor of shape {shape}; got a {kind}",
            what=what,
            shape=tuple(ref.shape),
            kind=_kind(out),
        )
    got, ref = got.double(), ref.detach().double()
    if scalar and got.numel() == 1:
        got = got.reshape(())
    if got.shape != ref.shape:
        shapes = dict(what=what, got=tuple(got.shape), expected=tuple(ref.shape))
        if scalar:
            return _t(
                "{what}: expected one number; got a tensor of shape {got}",
                what=what,
                got=shapes["got"],
            )
        if (
            got.ndim == 2
            and got.shape == ref.shape[::-1]
            and torch.allclose(got.T, ref, rtol, atol)
        ):
            return _t(
                "{what}: right numbers, but transposed: got shape {got}, expected {expected}",
                **shapes,
            )
        if got.numel() == ref.numel() and torch.allclose(got.reshape(ref.shape), ref, rtol, atol):
            return _t(
                "{what}: right numbers, wrong shape: got {got}, expected {expected}", **shapes
            )
        return _t("{what}: wrong shape: got {got}, expected {expected}", **shapes)
    if not bool(torch.isfinite(got).all()):
        return _t(
            "{what}: your result contains NaN or inf (a division by zero, or log of a negative?)",
            what=what,
        )
    return None


class WithheldError(RuntimeError):
    """Raised by an fmlib function that a check withholds while the student's function runs."""


def _pretty(name: str) -> str:
    return "fm." + name[len("fmlib.") :] if name.startswith("fmlib.") else name


def withheld_message(name: str) -> str:
    # starts with "`fm." in every language: _labelled shows it without the case's label
    return _t(
        "`{name}` is the library's answer to this task; write this one yourself "
        "(the library is there to compare with once your own passes)",
        name=_pretty(name),
    )


def _resolve(name: str) -> types.FunctionType:
    """The Python function that the dotted ``name`` names (a module function or a method)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            raw = obj.__dict__.get(attr) if isinstance(obj, type) else None
            obj = getattr(obj, attr)
            if isinstance(raw, (staticmethod, classmethod)):
                obj = raw.__func__
        obj = getattr(obj, "__func__", obj)  # a bound or class method
        if not isinstance(obj, types.FunctionType):
            raise TypeError(f"withheld: {name} is not a Python function ({type(obj).__name__})")
        return obj
    raise ImportError(f"withheld: no module for {name}")


_calls: list[str] = []  # the withheld names called during the student's call now running


def _withheld_called(name: str) -> None:
    _calls.append(name)
    raise WithheldError(withheld_message(name))


def _stand_in(name: str, function: types.FunctionType) -> types.CodeType:
    """A code object that calls ``_withheld_called(name)``, with ``function``'s free variables."""
    free = [f"_f{i}" for i in range(len(function.__code__.co_freevars))]
    source = (
        f"def _make({', '.join(free)}):\n"
        "    def withheld(*args, **kwargs):\n"
        "        __import__('fmlib.checks._core', fromlist=['_'])._withheld_called("
        f"{name!r})\n"
        f"        {', '.join(free) or 'None'}\n"
        "    return withheld\n"
    )
    namespace: dict = {}
    exec(source, namespace)
    code = namespace["_make"](*free).__code__
    return code.replace(co_name=function.__code__.co_name)


@contextlib.contextmanager
def withholding(functions: Sequence[tuple[str, types.FunctionType]]) -> Iterator[list[str]]:
    """Within the block, each ``(name, function)`` raises ``WithheldError``; restored after.

    Yields the list of withheld names that were called (even if the caller caught the error).
    """
    saved = []
    start = len(_calls)
    called: list[str] = []
    try:
        for name, function in functions:
            saved.append((function, function.__code__))
            function.__code__ = _stand_in(name, function)
        yield called
    finally:
        for function, code in reversed(saved):
            function.__code__ = code
        called.extend(dict.fromkeys(_calls[start:]))
        del _calls[start:]


class StudentError(Exception):
    """What the student's code did wrong when a check called it; ``str(error)`` is the hint."""


NOT_IMPLEMENTED = "not implemented yet: replace `raise NotImplementedError()` with your code"


def not_implemented() -> str:
    """``NOT_IMPLEMENTED`` in the chosen language."""
    return _t("not implemented yet: replace `raise NotImplementedError()` with your code")


_active_withheld: list[Sequence[tuple[str, types.FunctionType]]] = [()]


def student_call(function: Callable, *args, what: str = "your function", **kwargs) -> object:
    """Call the student's ``function``; whatever it raises becomes a ``StudentError`` hint.

    Every call of student code goes through here, also from judges and hints: the withheld
    fmlib functions of the running check raise meanwhile, ``SystemExit`` is reported like any
    error, and ``KeyboardInterrupt`` still interrupts.
    """
    error = None
    try:
        with withholding(_active_withheld[-1]) as called:
            out = function(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as caught:  # the student's code may fail in any way
        error = caught
    if called:
        raise StudentError(withheld_message(called[0]))
    if error is None:
        return out
    if isinstance(error, StudentError):  # a nested student_call (a check's own wrapper)
        raise error
    if isinstance(error, NotImplementedError):
        raise StudentError(not_implemented())
    who = _t("your function") if what == "your function" else what
    if isinstance(error, SystemExit):
        raise StudentError(
            _t(
                "{what} called exit() or sys.exit() (SystemExit: {error}); return a value instead",
                what=who,
                error=error,
            )
        )
    raise StudentError(
        _t("{what} raised {kind}: {error}", what=who, kind=type(error).__name__, error=error)
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
    withheld: Sequence[str] = (),
) -> CheckResult:
    """Call ``function`` on every ``Case`` of ``cases(generator)`` and report; never raises.

    A wrong answer gets ``compare``'s generic hint, unless ``hints(out, case)`` names a
    task-specific one. An answer that is one value for every input of every case, while the
    references vary, is reported as a constant, and one off by the same factor in every case as
    off by a constant factor. ``seed`` fixes the cases (default: a fresh one). ``withheld``: the
    dotted names of the fmlib functions that answer this task (see the module's docstring).
    Only ``KeyboardInterrupt`` gets through, after everything is restored.
    """
    seed = _fresh_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    message = None
    pushed = False
    try:
        _active_withheld.append([(n, _resolve(n)) for n in withheld])
        pushed = True
        with torch.random.fork_rng(devices=[]):
            todo = list(cases(generator))
            for case in todo:
                message, generic = _judge(function, case, hints, rtol, atol)
                if message is not None:
                    if isinstance(case.expected, Tensor) and generic:
                        message = (
                            _constant(function, todo, case)
                            or _factor(function, todo, rtol, atol)
                            or message
                        )
                    break
    except StudentError as error:  # student code called while the cases were drawn
        message = str(error)
    except Exception as error:  # a bug in a check must not crash a student's kernel either
        message = _t(
            "the check itself failed ({kind}: {error}); please tell your teacher",
            kind=type(error).__name__,
            error=error,
        )
    finally:
        if pushed:
            _active_withheld.pop()
    passed = message is None
    if not passed:
        text = _t("✘ {name}: {message}", name=name, message=message)
    elif ok:
        text = _t("✔ {name}: correct. {ok}", name=name, ok=ok)
    else:
        text = _t("✔ {name}: correct", name=name)
    if not quiet:
        print(text)
    return CheckResult(name, passed, text, seed)


def _labelled(label: str, hint: str) -> str:
    """``label: hint``, unless the hint already names the case or needs no case."""
    if hint == not_implemented() or hint.startswith(label) or hint.startswith("`fm."):
        return hint
    return _t("{label}: {hint}", label=label, hint=hint)


def _judge(function, case: Case, hints, rtol: float, atol: float) -> tuple[str | None, bool]:
    """(None if the answer to ``case`` is right, otherwise the message to print; whether that
    message is ``compare``'s generic one about the values)."""
    try:
        out = case.call(function)
        if not isinstance(case.expected, Tensor):  # a judge: right by a property
            hint = case.expected(out, *case.inputs)
            return (None if hint is None else _labelled(case.label, hint)), False
        hint, generic = _compare(
            out, case.expected, case.label, case.inputs, rtol, atol, case.differentiable
        )
        if hint is None or hints is None:
            return hint, generic
        try:
            special = hints(out, case)
        except StudentError:
            raise
        except Exception:  # a hint that cannot read this answer: keep the generic one
            special = None
        return (_labelled(case.label, special), False) if special else (hint, generic)
    except StudentError as error:
        return _labelled(case.label, str(error)), False


def _answers(function, todo: Sequence[Case]) -> list[Tensor | None]:
    """The answers to all ``todo`` as tensors (None for what is not numbers); [] if one fails."""
    out = []
    for case in todo:
        try:
            got = case.call(function)
        except StudentError:
            return []
        cpu = isinstance(got, float | int) or isinstance(got, Tensor) and got.device.type == "cpu"
        out.append(as_tensor(got) if cpu else None)
    return out


def _constant(function, todo: Sequence[Case], failed: Case) -> str | None:
    """A hint if the answers to all cases are one and the same number while the references vary."""
    values = _answers(function, [failed, *todo])
    if not values or any(v is None or v.numel() == 0 for v in values):
        return None
    flat = torch.cat([v.double().flatten().cpu() for v in values])
    refs = [c.expected for c in todo if isinstance(c.expected, Tensor)]
    varying = bool(refs) and float(torch.cat([r.double().flatten() for r in refs]).std()) > 1e-9
    if bool((flat == flat[0]).all()) and (varying or not refs):
        return _t(
            "your function returns {value:.4g} whatever the input (a constant?)",
            value=float(flat[0]),
        )
    return None


def _factor(function, todo: Sequence[Case], rtol: float, atol: float) -> str | None:
    """The "constant factor" hint when one factor maps the reference onto the answer in every
    case (two cases at least, with references that differ); None otherwise."""
    todo = [c for c in todo if isinstance(c.expected, Tensor)]
    values = _answers(function, todo)
    if len(todo) < 2 or len(values) != len(todo):
        return None
    scales, refs = [], []
    for case, got in zip(todo, values, strict=True):
        ref = case.expected.detach().double()
        if got is None or got.numel() != ref.numel() or not bool(torch.isfinite(got).all()):
            return None
        got = got.double().cpu().reshape(ref.shape)
        norm = float((ref * ref).sum())
        if norm < 1e-300:
            return None
        scale = float((got * ref).sum()) / norm
        if not torch.allclose(got, scale * ref, rtol * 10, atol * 10):
            return None
        scales.append(scale)
        refs.append(ref.flatten())
    flat = torch.cat(refs)
    if float(flat.std()) <= 1e-9 * (1 + float(flat.abs().max())):
        return None  # the same reference everywhere: any wrong constant would be "a factor"
    k = scales[0]
    if min(abs(k - 1), abs(k + 1), abs(k)) <= 1e-3 or any(
        abs(s - k) > 1e-3 * abs(k) for s in scales
    ):
        return None
    return _t("off by a constant factor: yours is {k:.4g} x the expected value in every case", k=k)


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
