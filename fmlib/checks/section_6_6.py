"""Checks for the exercises of Section 6.6: the Fréchet distance, and digits in four evaluations.

``check_frechet_distance`` compares by value, as the other sections' checks do. The sampler's
check is different: the answer is right by its *statistics*, not by value: any
sampler within the evaluation budget whose digits the judge recognises as often, and whose
Fréchet distance to held-out digits is as small, as those of a 32-evaluation midpoint solve, up
to the spread of these measures over noise draws, passes. It never raises.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from .. import ot, solvers
from ..i18n import t as _t
from ._core import Case, CheckResult, as_tensor, not_implemented, run_check

REFERENCE = {"method": "midpoint", "steps": 16}  # 32 evaluations


class _Counted:
    """The field, counting its calls (each call is one evaluation, whatever the batch)."""

    def __init__(self, v: Callable):
        self.v, self.calls = v, 0

    def __call__(self, x: Tensor, t: object) -> Tensor:
        self.calls += 1
        return self.v(x, t)


def _frechet_variants(a: Tensor, b: Tensor) -> dict[str, float]:
    """The formula with the usual slips, each computed independently in numpy float64."""
    a, b = a.double().numpy(), b.double().numpy()
    mean_term = float(((a.mean(0) - b.mean(0)) ** 2).sum())
    out = {}
    for bias in (False, True):
        c_a, c_b = np.cov(a, rowvar=False, bias=bias), np.cov(b, rowvar=False, bias=bias)
        # tr (C_a C_b)^1/2: the square roots of the eigenvalues of C_a C_b (real, >= 0)
        cross = np.sqrt(np.clip(np.linalg.eigvals(c_a @ c_b).real, 0, None)).sum()
        out["biased" if bias else "right"] = mean_term + np.trace(c_a + c_b) - 2 * cross
        if not bias:
            out["no mean term"] = out["right"] - mean_term
            out["no root"] = mean_term + np.trace(c_a + c_b - 2 * c_a @ c_b)
    return out


def check_frechet_distance(
    frechet_distance: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``frechet_distance(a, b) -> float``: the squared Fréchet distance of two samples. Section 6.6."""

    def cases(g):
        out = []
        for _ in range(3):
            n, m, d = (
                int(torch.randint(lo, hi, (), generator=g))
                for lo, hi in ((20, 60), (20, 60), (2, 6))
            )
            mix = torch.randn(d, d, generator=g, dtype=torch.float64)
            a = torch.randn(n, d, generator=g, dtype=torch.float64) @ mix
            b = 0.5 * torch.randn(m, d, generator=g, dtype=torch.float64) + torch.randn(
                d, generator=g, dtype=torch.float64
            )
            ref = torch.tensor(_frechet_variants(a, b)["right"], dtype=torch.float64)
            label = _t("samples of {n} and {m} points in {d}-D", n=n, m=m, d=d)
            out.append(Case(label, (a, b), ref))
        return out

    def hints(out, case):
        got = as_tensor(out)
        if got is None or got.numel() != 1:
            return None
        got = float(got)
        variants = _frechet_variants(*case.inputs)
        said = {
            "no mean term": _t("the mean term |mu_a - mu_b|^2 is missing"),
            "no root": _t(
                "take the matrix square root of C_a C_b (scipy.linalg.sqrtm) inside the trace"
            ),
            "biased": _t(
                "use the unbiased covariances (divide by n - 1, as np.cov does by default)"
            ),
        }
        for key, hint in said.items():
            if math.isclose(got, variants[key], rel_tol=1e-4, abs_tol=1e-6):
                return hint
        if math.isclose(got, math.sqrt(max(variants["right"], 0.0)), rel_tol=1e-4):
            return _t("that is the square root: the Fréchet distance of FID is the squared W2")
        return None

    return run_check(
        "frechet_distance",
        frechet_distance,
        cases,
        seed,
        quiet,
        _t("The W2^2 of the Gaussian fits."),
        hints,
    )


def _spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def check_few_step_sampler(
    few_step_sampler: Callable,
    field: Callable,
    labels: Tensor,
    held_out: Tensor,
    judge: Callable,
    budget: int = 4,
    draws: int = 3,
    seed: int | None = None,
    quiet: bool = False,
) -> CheckResult:
    """``few_step_sampler(v, x_0) -> x_1`` with at most ``budget`` calls of ``v``. Section 6.6.

    ``field`` is the (guided) conditional field ``v(x, t)`` for the rows' ``labels`` (B,),
    ``held_out`` the real digits (M, D) the Fréchet distance is measured against, ``judge(x) ->
    predicted labels`` (a numpy array in, as scikit-learn's ``predict`` takes it). On ``draws``
    noise draws the answer's samples are compared with the midpoint method's at 16 steps (32
    evaluations): passed when the median Fréchet distance is within twice the reference's spread
    over the draws (at least 5 % of it) above the reference's median, and the median accuracy
    within three binomial standard errors below the reference's.
    """
    name = "few_step_sampler"
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else int(seed)
    message, detail = None, ""
    try:
        message, detail = _judge(
            few_step_sampler, field, labels, held_out, judge, budget, draws, seed
        )
    except Exception as error:  # a bug in the check must not crash a student's kernel either
        message = _t(
            "the check itself failed ({kind}: {error}); please tell your teacher",
            kind=type(error).__name__,
            error=error,
        )
    passed = message is None
    text = (
        _t("✔ {name}: correct. {ok}", name=name, ok=detail)
        if passed
        else _t("✘ {name}: {message}", name=name, message=message)
    )
    if not quiet:
        print(text)
    return CheckResult(name, passed, text, seed)


def _judge(sampler, field, labels, held_out, judge, budget, draws, seed):
    b, d = len(labels), held_out.shape[1]
    answer_fd, answer_acc, ref_fd, ref_acc, euler_fd = [], [], [], [], []

    def accuracy(x: Tensor) -> float:
        return float((torch.as_tensor(judge(x.detach().float().numpy())) == labels).float().mean())

    for k in range(draws):
        x_0 = torch.randn(b, d, generator=torch.Generator().manual_seed(seed + k))
        counted = _Counted(field)
        try:
            with torch.no_grad():
                out = sampler(counted, x_0.clone())
        except NotImplementedError:
            return not_implemented(), ""
        except Exception as error:  # the student's code may fail in any way
            return _t(
                "{what} raised {kind}: {error}",
                what=_t("your function"),
                kind=type(error).__name__,
                error=error,
            ), ""
        problem = _shape_problem(out, x_0, counted.calls, budget)
        if problem:
            return problem, ""
        with torch.no_grad():
            ref = solvers.solve(field, x_0, **REFERENCE).x
            euler = solvers.solve(field, x_0, method="euler", steps=budget).x
        out = out.detach().float()
        answer_fd.append(ot.frechet_distance(out, held_out))
        ref_fd.append(ot.frechet_distance(ref, held_out))
        euler_fd.append(ot.frechet_distance(euler, held_out))
        answer_acc.append(accuracy(out))
        ref_acc.append(accuracy(ref))
    fd, fd_ref = statistics.median(answer_fd), statistics.median(ref_fd)
    acc, acc_ref = statistics.median(answer_acc), statistics.median(ref_acc)
    fd_tol = max(2 * _spread(ref_fd), 0.05 * fd_ref)
    acc_tol = 3 * math.sqrt(max(acc_ref * (1 - acc_ref), 0.25 / b) / b)
    said = _t(
        "Fréchet distance {fd:.3f} against the 32-evaluation reference's {fd_ref:.3f} "
        "(tolerance {fd_tol:.3f}); accuracy {acc:.3f} against {acc_ref:.3f}",
        fd=fd,
        fd_ref=fd_ref,
        fd_tol=fd_tol,
        acc=acc,
        acc_ref=acc_ref,
    )
    if fd > fd_ref + fd_tol:
        if abs(fd - statistics.median(euler_fd)) < 0.05 * fd_ref:
            return _t(
                "the digits are not yet as good: {said}. That is what {budget} Euler steps give: "
                "spend the evaluations on higher order.",
                said=said,
                budget=budget,
            ), ""
        return _t("the digits are not yet as good: {said}.", said=said), ""
    if acc < acc_ref - acc_tol:
        return _t("the judge recognises too few of the requested digits: {said}", said=said), ""
    return None, _t("{said}.", said=said)


def _shape_problem(out: object, x_0: Tensor, calls: int, budget: int) -> str | None:
    if out is None:
        return _t("your function returned None. Did you forget `return`?")
    if not isinstance(out, Tensor):
        return _t(
            "expected a torch.Tensor of shape {shape}; got a {kind}",
            shape=tuple(x_0.shape),
            kind=type(out).__name__,
        )
    if out.shape != x_0.shape:
        return _t(
            "wrong shape: got {got}, expected {expected}",
            got=tuple(out.shape),
            expected=tuple(x_0.shape),
        )
    if calls > budget:
        return _t(
            "you called the field {calls} times; the budget is {budget} evaluations",
            calls=calls,
            budget=budget,
        )
    if not bool(torch.isfinite(out).all()):
        return _t("your samples contain NaN or inf")
    if torch.equal(out.float(), x_0):
        return _t("you return the noise x_0 unchanged: solve from t = 0 to t = 1")
    return None
