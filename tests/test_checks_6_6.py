"""The Section 6.6 check (a sampler judged by its statistics) on a problem with exact fields.

Ten Gaussian classes in 4-D, their exact flows from N(0, I) (``fm.analytic.gaussian_target``),
and a nearest-mean judge: the check must pass a sampler as good as its reference, fail one whose
statistics or classes are off, and name what is wrong without ever raising.
"""

from __future__ import annotations

import pytest
import torch

import fmlib as fm
from fmlib.checks import section_6_6

D, CLASSES, PER_CLASS, STD = 4, 10, 50, 0.3


@pytest.fixture(scope="module")
def problem():
    g = torch.Generator().manual_seed(0)
    means = 3 * torch.randn(CLASSES, D, generator=g, dtype=torch.float64)
    labels = torch.arange(CLASSES).repeat_interleave(PER_CLASS)
    targets = [
        fm.analytic.gaussian_target(m, STD**2 * torch.eye(D, dtype=torch.float64)) for m in means
    ]

    def field(x, t):
        out = torch.empty_like(x)
        for c, target in enumerate(targets):
            rows = labels == c
            out[rows] = target(x[rows].double(), t).to(x.dtype)
        return out

    held_out = means[labels] + STD * torch.randn(len(labels), D, generator=g, dtype=torch.float64)

    def judge(a):
        return torch.cdist(torch.as_tensor(a).double(), means).argmin(1).numpy()

    return field, labels, held_out.float(), judge


def _check(problem, answer, **kw):
    field, labels, held_out, judge = problem
    return section_6_6.check_few_step_sampler(
        answer, field, labels, held_out, judge, seed=3, quiet=True, **kw
    )


def _reference(v, x):
    return fm.solve(v, x, **section_6_6.REFERENCE).x


def test_the_reference_itself_passes_with_its_budget(problem):
    result = _check(problem, _reference, budget=32)
    assert result, result.message
    assert "Fréchet distance" in result.message and result.seed == 3


def test_right_statistics_wrong_classes_fail_on_accuracy(problem):
    def shifted(v, x):  # the same set of samples, each handed to the next class
        return _reference(v, x).roll(PER_CLASS, dims=0)

    result = _check(problem, shifted, budget=32)
    assert not result and "recognises too few" in result.message


def test_samples_off_the_data_fail_on_the_frechet_distance(problem):
    result = _check(problem, lambda v, x: _reference(v, x) + 0.5, budget=32)
    assert not result and "not yet as good" in result.message


@pytest.mark.parametrize(
    "answer, says",
    [
        (lambda v, x: fm.solve(v, x, method="euler", steps=5).x, "called the field 5 times"),
        (lambda v, x: x, "noise x_0 unchanged"),
        (lambda v, x: None, "returned None"),
        (lambda v, x: x[:, :2], "wrong shape"),
        (lambda v, x: x.numpy(), "torch.Tensor"),
        (lambda v, x: x * float("nan"), "NaN"),
    ],
)
def test_wrong_answers_get_a_specific_hint(problem, answer, says):
    result = _check(problem, answer)
    assert not result and says in result.message, result.message


def test_failing_answers_and_a_failing_judge_never_raise(problem, capsys):
    def unfinished(v, x):
        raise NotImplementedError()

    def crashing(v, x):
        raise ValueError("boom")

    assert "not implemented yet" in _check(problem, unfinished).message
    assert "raised ValueError: boom" in _check(problem, crashing).message
    field, labels, held_out, _ = problem

    def broken_judge(a):
        raise RuntimeError("judge")

    result = section_6_6.check_few_step_sampler(
        _reference, field, labels, held_out, broken_judge, budget=32
    )
    assert not result and "the check itself failed" in result.message
    assert result.message in capsys.readouterr().out  # printed, not raised


# ---------------------------------------------------------------- the Fréchet distance task


def _frechet_sqrtm(a, b, bias=False, mean=True, root=True):
    """Written independently of the check: scipy's sqrtm, with the slips as switches."""
    import numpy as np
    import scipy.linalg

    a, b = a.double().numpy(), b.double().numpy()
    c_a, c_b = np.cov(a, rowvar=False, bias=bias), np.cov(b, rowvar=False, bias=bias)
    cross = scipy.linalg.sqrtm(c_a @ c_b).real if root else c_a @ c_b
    mean_term = ((a.mean(0) - b.mean(0)) ** 2).sum() if mean else 0.0
    return float(mean_term + np.trace(c_a + c_b - 2 * cross))


def test_frechet_check_passes_a_right_answer_in_float32_too():
    assert section_6_6.check_frechet_distance(_frechet_sqrtm, seed=1, quiet=True)
    assert section_6_6.check_frechet_distance(
        lambda a, b: fm.ot.frechet_distance(a.float(), b.float()), seed=2, quiet=True
    )


@pytest.mark.parametrize(
    "answer, says",
    [
        (lambda a, b: _frechet_sqrtm(a, b, mean=False), "mean term"),
        (lambda a, b: _frechet_sqrtm(a, b, root=False), "matrix square root"),
        (lambda a, b: _frechet_sqrtm(a, b, bias=True), "unbiased"),
        (lambda a, b: _frechet_sqrtm(a, b) ** 0.5, "square root"),
        (lambda a, b: -_frechet_sqrtm(a, b), "wrong sign"),
    ],
)
def test_frechet_check_names_the_slip(answer, says):
    result = section_6_6.check_frechet_distance(answer, seed=3, quiet=True)
    assert not result and says in result.message, result.message
