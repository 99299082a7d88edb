"""The Section 6.2 problem-set checks: right answers pass on many seeds, plausible wrong ones get
the hint that names their mistake, and fmlib's OT functions are no shortcut."""

from __future__ import annotations

import pytest
import scipy.linalg
import torch

import fmlib as fm
from fmlib import checks


def gaussian_ot_map(x, m_0, s_0, m_1, s_1):
    """Written with scipy's sqrtm: A = S_0^-1/2 (S_0^1/2 S_1 S_0^1/2)^1/2 S_0^-1/2."""
    r = torch.as_tensor(scipy.linalg.sqrtm(s_0.numpy()).real)
    r_inv = torch.linalg.inv(r)
    a = r_inv @ torch.as_tensor(scipy.linalg.sqrtm((r @ s_1 @ r).numpy()).real) @ r_inv
    return m_1 + (x - m_0) @ a.T


def naive_map(x, m_0, s_0, m_1, s_1):
    a = torch.as_tensor(scipy.linalg.sqrtm(s_1.numpy()).real) @ torch.linalg.inv(
        torch.as_tensor(scipy.linalg.sqrtm(s_0.numpy()).real)
    )
    return m_1 + (x - m_0) @ a.T


def sinkhorn_plan(cost, eps, iters):
    b = cost.shape[0]
    k = torch.exp(-cost / eps)
    u = torch.ones(b, dtype=cost.dtype)
    v = torch.ones(b, dtype=cost.dtype)
    for _ in range(iters):
        u = (1 / b) / (k @ v)
        v = (1 / b) / (k.T @ u)
    return u[:, None] * k * v[None]


def sinkhorn_log(cost, eps, iters):
    """A different implementation: in log space."""
    b = cost.shape[0]
    f = torch.zeros(b, dtype=cost.dtype)
    g = torch.zeros(b, dtype=cost.dtype)
    log_w = -torch.log(torch.tensor(float(b), dtype=cost.dtype))
    for _ in range(iters):
        f = eps * (log_w - torch.logsumexp((g[None] - cost) / eps, dim=1))
        g = eps * (log_w - torch.logsumexp((f[:, None] - cost) / eps, dim=0))
    return torch.exp((f[:, None] + g[None] - cost) / eps)


def w2_1d(a, b):
    return float((a.sort().values - b.sort().values).pow(2).mean().sqrt())


RIGHT = [
    (checks.check_gaussian_ot_map, gaussian_ot_map),
    (checks.check_sinkhorn_plan, sinkhorn_plan),
    (checks.check_sinkhorn_plan, sinkhorn_log),
    (checks.check_w2_1d, w2_1d),
]


@pytest.mark.parametrize("check, answer", RIGHT, ids=lambda f: getattr(f, "__name__", ""))
def test_right_answers_pass_on_many_seeds(check, answer):
    for seed in range(20):
        result = check(answer, seed=seed, quiet=True)
        assert result, result.message


WRONG = [
    (checks.check_gaussian_ot_map, naive_map, "not symmetric"),
    (
        checks.check_gaussian_ot_map,
        lambda x, m_0, s_0, m_1, s_1: naive_map(x + m_0, m_0, s_0, m_1, s_1),
        "centre first",
    ),
    (
        checks.check_sinkhorn_plan,
        lambda c, e, n: torch.exp(-c / e) / torch.exp(-c / e).sum(),
        "normalised once",
    ),
    (
        checks.check_sinkhorn_plan,
        lambda c, e, n: sinkhorn_plan(c, e, n) * c.shape[0],
        "rows sum to 1",
    ),
    (checks.check_w2_1d, lambda a, b: w2_1d(a, b) ** 2, "W2 squared"),
    (checks.check_w2_1d, lambda a, b: float((a - b).pow(2).mean().sqrt()), "sort both"),
]


@pytest.mark.parametrize(
    "check, answer, hint", WRONG, ids=lambda x: x if isinstance(x, str) else ""
)
def test_wrong_answers_fail_with_the_right_hint(check, answer, hint):
    for seed in (0, 1, 2):
        result = check(answer, seed=seed, quiet=True)
        assert not result and hint in result.message, result.message


SHORTCUTS = [
    (
        checks.check_gaussian_ot_map,
        lambda x, m_0, s_0, m_1, s_1: fm.analytic.GaussianDisplacement(
            m_0, s_0, m_1, s_1
        ).transport(x),
        "is the library's answer",
    ),
    (
        checks.check_w2_1d,
        lambda a, b: fm.ot.w2(a[:, None], b[:, None]),
        "fm.ot.w2",
    ),
    (
        checks.check_ot_pairing,
        lambda x_0, x_1: fm.couplings.ot_pairing(x_0, x_1),
        "fm.couplings.ot_pairing",
    ),
]


@pytest.mark.parametrize(
    "check, answer, name", SHORTCUTS, ids=lambda x: x if isinstance(x, str) else ""
)
def test_fmlib_shortcut_is_refused(check, answer, name):
    result = check(answer, seed=0, quiet=True)
    assert not result and name in result.message, result.message
