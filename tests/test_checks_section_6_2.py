"""The Section 6.2 problem-set checks: right answers pass on many seeds, plausible wrong ones get
the hint that names their mistake, and fmlib's OT functions are no shortcut."""

from __future__ import annotations

import pytest
import scipy.linalg
import scipy.optimize
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


# The open task: a plan near exact OT in cost that spreads each point over several partners.


def hedge_sinkhorn(x_0, x_1):
    """One design: entropic OT in log space, eps a fixed fraction of the mean cost."""
    cost = torch.cdist(x_0, x_1).pow(2)
    return sinkhorn_log(cost, 0.01 * float(cost.mean()), 300)


def hedge_jitter(x_0, x_1, k=32, s=0.2):
    """A different design: the average of k exact OT permutations of jittered noise points."""
    b = x_0.shape[0]
    gen = torch.Generator().manual_seed(0)
    plan = torch.zeros(b, b, dtype=x_0.dtype)
    for _ in range(k):
        jittered = x_0 + s * torch.randn(x_0.shape, generator=gen, dtype=x_0.dtype)
        rows, cols = scipy.optimize.linear_sum_assignment(torch.cdist(jittered, x_1).pow(2).numpy())
        plan[rows, cols] += 1 / (b * k)
    return plan


def exact_plan(x_0, x_1):
    b = x_0.shape[0]
    rows, cols = scipy.optimize.linear_sum_assignment(torch.cdist(x_0, x_1).pow(2).numpy())
    plan = torch.zeros(b, b, dtype=x_0.dtype)
    plan[rows, cols] = 1 / b
    return plan


def test_hedged_plan_measures_against_closed_forms():
    """Exact OT: cost ratio 1 and one partner; the independent plan 1 / B^2: B partners
    (entropy 2 log B) and the mean cost over POT's exact cost."""
    import numpy as np
    import ot as pot

    from fmlib.checks.section_6_2 import hedged_plan_measures

    g = torch.Generator().manual_seed(0)
    x_0, x_1 = torch.randn(40, 2, generator=g).double(), torch.rand(40, 2, generator=g).double()
    m = hedged_plan_measures(exact_plan(x_0, x_1), x_0, x_1)
    assert abs(m["cost_ratio"] - 1) < 1e-9 and abs(m["partners"] - 1) < 1e-9
    assert m["marginal_error"] < 1e-12
    m = hedged_plan_measures(torch.full((40, 40), 1 / 40**2, dtype=torch.float64), x_0, x_1)
    cost = torch.cdist(x_0, x_1).pow(2).numpy()
    best = pot.emd2(np.full(40, 1 / 40), np.full(40, 1 / 40), cost)
    assert abs(m["partners"] - 40) < 1e-9
    assert abs(m["cost_ratio"] - cost.mean() / best) < 1e-9


@pytest.mark.parametrize("design", [hedge_sinkhorn, hedge_jitter])
def test_two_different_hedged_plans_pass(design):
    for seed in range(6):
        result = checks.check_hedged_plan(design, seed=seed, quiet=True)
        assert result, result.message


def mixed_with_independent(x_0, x_1, lam=0.02):
    b = x_0.shape[0]
    return (1 - lam) * exact_plan(x_0, x_1) + lam / b**2


HEDGE_WRONG = [
    (exact_plan, "a permutation"),
    (lambda x_0, x_1: torch.full((x_0.shape[0],) * 2, 1 / x_0.shape[0] ** 2), "too expensive"),
    (mixed_with_independent, "spreads too little"),
    (lambda x_0, x_1: hedge_sinkhorn(x_0, x_1) * x_0.shape[0], "sum to B"),
    (
        lambda x_0, x_1: sinkhorn_log(torch.cdist(x_0, x_1).pow(2), 0.02, 2),
        "marginals are off",
    ),
    (
        lambda x_0, x_1: sinkhorn_plan(torch.cdist(x_0, x_1).pow(2), 0.001, 50),
        "NaN or inf",
    ),
    (lambda x_0, x_1: hedge_sinkhorn(x_0, x_1).float().T[:10], "expected a plan"),
    (
        lambda x_0, x_1: fm.couplings.ot_pairing(x_0, x_1, method="sinkhorn"),
        "fm.couplings.ot_pairing",
    ),
]


@pytest.mark.parametrize("answer, hint", HEDGE_WRONG, ids=lambda x: x if isinstance(x, str) else "")
def test_bad_hedged_plans_fail_with_the_right_hint(answer, hint):
    for seed in (0, 1):
        result = checks.check_hedged_plan(answer, seed=seed, quiet=True)
        assert not result and hint in result.message, result.message
