"""Checks for the chapter's capstone: a one-step sampler for the checkerboard.

Same contract as the section checks: a fresh draw, an independent reference (POT's exact W2 between
the sampler's points and fresh data), a ✔ or a specific hint, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .. import data, ot
from ..i18n import t as _t
from ._core import Case, CheckResult, StudentError, as_tensor, run_check, student_call

ONE_STEP_POINTS = 2000  # noise points and fresh data points the criterion compares
ONE_STEP_W2 = 0.40  # W2 of one Euler step against fresh checkerboard data, at most
ONE_STEP_DARK = 0.60  # share of the one-step samples on the board's dark squares, at least
ONE_STEP_TRAIN = 20_000  # training points handed to the student's function
ONE_STEP_STEPS = 2000  # the training budget handed to it


def dark_share(x: Tensor, squares: int = 4) -> float:
    """The share of points ``x: (B, 2)`` on the dark squares of fmlib's checkerboard (1 for its
    samples; 0.5 for points spread evenly over the board, whatever their W2)."""
    side = 4.0 / squares
    cell = torch.floor((x.double() + 2.0) / side)
    on_board = (x.abs() <= 2.0).all(dim=1)
    dark = (cell.sum(dim=1) % 2) == 0
    return float((on_board & dark).double().mean())


def one_step_w2(v: Callable, generator: torch.Generator) -> tuple[float, float, float]:
    """(W2 of one Euler step of ``v`` from ONE_STEP_POINTS noise points against as many fresh
    checkerboard points, W2 between two fresh checkerboard samples of that size: the floor,
    the share of the one-step samples on dark squares)."""
    n = ONE_STEP_POINTS
    x_0 = torch.randn(n, 2, generator=generator)
    fresh = data.checkerboard(n, generator)
    floor = ot.w2(data.checkerboard(n, generator), data.checkerboard(n, generator))
    with torch.no_grad():
        step = v(x_0, torch.zeros(n))
    step = as_tensor(step)
    if step is None or step.shape != (n, 2):
        raise StudentError(
            _t(
                "the model must return velocities of shape ({n}, 2) for x: ({n}, 2) and t: "
                "({n},); got {got}",
                n=n,
                got=getattr(step, "shape", type(step).__name__),
            )
        )
    x_1 = x_0 + step.float()
    if not bool(torch.isfinite(x_1).all()):
        raise StudentError(_t("one Euler step gives NaN or inf"))
    return ot.w2(x_1, fresh), floor, dark_share(x_1)


def check_one_step_sampler(
    train_one_step_model: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``train_one_step_model(data, steps, seed) -> v``: any model ``v(x, t)`` trained on ``data``
    (20,000 checkerboard points) within ``steps`` = 2000 optimiser steps, such that one Euler
    step from t = 0 to 1, x_0 + v(x_0, 0), from 2,000 noise points lands at W2 <= 0.40 from 2,000
    fresh checkerboard points (POT's exact W2) with at least 60 % of the samples on dark squares
    (W2 alone barely sees the squares: an even spread over the board scores about as well as a
    blurred board). Capstone.
    """

    def judge(out: object, train: Tensor, steps: int, model_seed: int, draw_seed: int):
        if out is None:
            return _t("your function returned None: return the trained model")
        if not callable(out):
            return _t("expected a model v(x, t) (callable); got a {kind}", kind=type(out).__name__)
        g = torch.Generator().manual_seed(draw_seed)
        w2, floor, dark = student_call(lambda: one_step_w2(out, g), what="your model")
        measured = _t(
            "one Euler step lands at W2 = {w2:.3f} (two fresh data samples: {floor:.3f}) with "
            "{dark:.0%} of the samples on dark squares",
            w2=w2,
            floor=floor,
            dark=dark,
        )
        if w2 > ONE_STEP_W2:
            return _t(
                "{measured}: aim for W2 at most {limit} (straighter paths need fewer steps)",
                measured=measured,
                limit=ONE_STEP_W2,
            )
        if dark < ONE_STEP_DARK:
            return _t(
                "{measured}: aim for at least {limit:.0%} on dark squares (half is what an even "
                "spread gets)",
                measured=measured,
                limit=ONE_STEP_DARK,
            )
        return None

    def cases(g):
        train = data.checkerboard(ONE_STEP_TRAIN, g)
        model_seed = int(torch.randint(0, 2**31 - 1, (), generator=g))
        draw_seed = int(torch.randint(0, 2**31 - 1, (), generator=g))
        return [
            Case(
                _t("{steps} steps", steps=ONE_STEP_STEPS),
                (train, ONE_STEP_STEPS, model_seed, draw_seed),
                judge,
            )
        ]

    return run_check(
        "one_step_sampler",
        lambda train, steps, model_seed, draw_seed: student_call(
            train_one_step_model, train, steps, model_seed
        ),
        cases,
        seed,
        quiet,
        _t(
            "One evaluation of the field per sample, at W2 <= {limit} and on the squares.",
            limit=ONE_STEP_W2,
        ),
    )
