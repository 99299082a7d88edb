"""fmlib.couplings: independent and minibatch-OT pairings, refereed by POT."""

from __future__ import annotations

import numpy as np
import ot as pot
import pytest
import torch

from fmlib import couplings


def _batch(n, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x_0 = torch.randn(n, d, generator=g)
    x_1 = torch.randn(n, d, generator=g) * 0.5 + torch.tensor([2.0] + [0.0] * (d - 1))
    y_1 = torch.randint(0, 3, (n,), generator=g)
    return x_0, x_1, y_1


def _row_indices(rows: torch.Tensor, pool: torch.Tensor) -> np.ndarray:
    """For each row, the index of the identical row of pool (fails if there is none)."""
    eq = (rows[:, None, :] == pool[None, :, :]).all(dim=2)  # (n, m)
    assert bool(eq.any(dim=1).all()), "a returned row is not a row of x_0"
    return eq.float().argmax(dim=1).numpy()


def _mean_cost(x_0, x_1) -> float:
    return float(((x_0.double() - x_1.double()) ** 2).sum(dim=1).mean())


def _pot_optimum(x_0, x_1) -> float:
    """The optimal mean squared cost between two equal-size uniform point sets, by POT."""
    n = x_0.shape[0]
    cost = pot.dist(x_0.double().numpy(), x_1.double().numpy(), metric="sqeuclidean")
    w = np.full(n, 1.0 / n)
    return float(pot.emd2(w, w, cost))


def test_independent_keeps_the_pairs():
    x_0, x_1, y_1 = _batch(16)
    out = couplings.independent(x_0, x_1, y_1)
    assert out.x_0 is x_0 and out.x_1 is x_1 and out.y_1 is y_1


@pytest.mark.parametrize(
    "n, d, seed", [(1, 2, 0), (2, 2, 1), (17, 2, 2), (64, 2, 3), (50, 5, 4), (128, 1, 5)]
)
def test_exact_ot_is_a_permutation_with_pot_optimal_cost(n, d, seed):
    x_0, x_1, y_1 = _batch(n, d, seed)
    out = couplings.ot_pairing(x_0, x_1, y_1)
    idx = _row_indices(out.x_0, x_0)
    assert sorted(idx.tolist()) == list(range(n)), "x_0 must be re-ordered, not resampled"
    assert out.x_1 is x_1 and torch.equal(out.y_1, y_1)
    np.testing.assert_allclose(
        _mean_cost(out.x_0, x_1), _pot_optimum(x_0, x_1), rtol=1e-9, atol=1e-12
    )
    assert _mean_cost(out.x_0, x_1) <= _mean_cost(x_0, x_1) + 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_exact_ot_costs_pots_optimum_well_below_independent(seed):
    # x_0 is drawn apart from x_1, so the identity pairing is the independent one: OT must reach
    # POT's optimum, and that optimum is far below the independent cost (the test can tell them apart)
    x_0, x_1, _ = _batch(32, 2, seed)
    ot_cost, optimum = _mean_cost(couplings.ot_pairing(x_0, x_1).x_0, x_1), _pot_optimum(x_0, x_1)
    np.testing.assert_allclose(ot_cost, optimum, rtol=1e-9, atol=1e-12)
    assert optimum < 0.9 * _mean_cost(x_0, x_1)


@pytest.mark.parametrize("n, block", [(32, 8), (30, 8), (40, 40), (40, 64), (10, 1)])
def test_block_pairing_is_optimal_within_each_block(n, block):
    x_0, x_1, y_1 = _batch(n, 2, seed=n + block)
    out = couplings.ot_pairing(x_0, x_1, y_1, block_size=block)
    assert out.x_1 is x_1 and torch.equal(out.y_1, y_1)
    for s in range(0, n, block):
        b0, b1, o0 = x_0[s : s + block], x_1[s : s + block], out.x_0[s : s + block]
        idx = _row_indices(o0, b0)  # pairs never leave their block
        assert sorted(idx.tolist()) == list(range(b0.shape[0]))
        np.testing.assert_allclose(_mean_cost(o0, b1), _pot_optimum(b0, b1), rtol=1e-9, atol=1e-12)


def test_smaller_blocks_cost_at_least_the_full_assignment():
    x_0, x_1, _ = _batch(64, 2, 9)
    full = _mean_cost(couplings.ot_pairing(x_0, x_1).x_0, x_1)
    blocked = _mean_cost(couplings.ot_pairing(x_0, x_1, block_size=16).x_0, x_1)
    assert full <= blocked + 1e-12


def test_sinkhorn_returns_rows_of_x0_and_lowers_cost_on_average():
    gains = []
    for seed in range(10):
        x_0, x_1, y_1 = _batch(64, 2, seed)
        out = couplings.ot_pairing(
            x_0,
            x_1,
            y_1,
            method="sinkhorn",
            reg=0.05,
            generator=torch.Generator().manual_seed(seed),
        )
        _row_indices(out.x_0, x_0)
        assert out.x_1 is x_1 and torch.equal(out.y_1, y_1)
        gains.append(_mean_cost(x_0, x_1) - _mean_cost(out.x_0, x_1))
    assert np.mean(gains) > 0
    assert np.mean(np.array(gains) > 0) >= 0.8


def test_sinkhorn_with_small_reg_approaches_exact_ot():
    x_0, x_1, _ = _batch(48, 2, 1)
    opt = _pot_optimum(x_0, x_1)
    indep = _mean_cost(x_0, x_1)
    costs = [
        _mean_cost(
            couplings.ot_pairing(
                x_0, x_1, method="sinkhorn", reg=0.02, generator=torch.Generator().manual_seed(s)
            ).x_0,
            x_1,
        )
        for s in range(5)
    ]
    # much closer to the optimum than to the independent pairing
    assert np.mean(costs) - opt < 0.1 * (indep - opt)


def test_sinkhorn_is_reproducible_with_a_generator():
    x_0, x_1, _ = _batch(32)
    a = couplings.ot_pairing(
        x_0, x_1, method="sinkhorn", generator=torch.Generator().manual_seed(4)
    )
    b = couplings.ot_pairing(
        x_0, x_1, method="sinkhorn", generator=torch.Generator().manual_seed(4)
    )
    assert torch.equal(a.x_0, b.x_0)


def test_sinkhorn_with_identical_points():
    # every pairing costs 0 (the mean cost that scales reg is 0): still a finite draw of x_0's rows
    x = torch.ones(4, 2)
    out = couplings.ot_pairing(x, x.clone(), method="sinkhorn")
    assert torch.equal(out.x_0, x)


def test_sinkhorn_with_all_costs_equal_returns_rows_of_x_0():
    # x_0 on a circle around the one point x_1: every pairing costs the same, and each returned
    # row must still be a row of x_0 (the rows differ, so a wrong index shows)
    angle = torch.linspace(0, 2 * torch.pi, 9)[:-1]
    x_0 = torch.stack([angle.cos(), angle.sin()], dim=1)
    x_1 = torch.zeros(8, 2)
    out = couplings.ot_pairing(
        x_0, x_1, method="sinkhorn", generator=torch.Generator().manual_seed(0)
    )
    idx = _row_indices(out.x_0, x_0)
    assert len(set(idx.tolist())) > 1  # drawn from a uniform plan, not one row repeated
    assert bool(torch.isfinite(out.x_0).all())


@pytest.mark.parametrize("scale", [0.25, 4.0])
def test_sinkhorn_pairs_the_same_points_at_any_scale(scale):
    # reg is relative to the mean cost, so scaling both clouds (by a power of 2: exactly) scales the
    # cost matrix and its mean together and leaves the plan, and the draws, unchanged
    x_0, x_1, _ = _batch(32)
    pair = lambda a, b: couplings.ot_pairing(
        a, b, method="sinkhorn", generator=torch.Generator().manual_seed(3)
    )
    base = _row_indices(pair(x_0, x_1).x_0, x_0)
    scaled = _row_indices(pair(scale * x_0, scale * x_1).x_0, scale * x_0)
    np.testing.assert_array_equal(scaled, base)


def test_coupling_registry_and_argument_errors():
    assert couplings.COUPLINGS["independent"] is couplings.independent
    assert couplings.COUPLINGS["ot"] is couplings.ot_pairing
    x_0, x_1, _ = _batch(8)
    with pytest.raises(ValueError, match="method"):
        couplings.ot_pairing(x_0, x_1, method="greedy")
    with pytest.raises(ValueError, match="reg"):
        couplings.ot_pairing(x_0, x_1, method="sinkhorn", reg=0.0)
    with pytest.raises(ValueError, match="block_size"):
        couplings.ot_pairing(x_0, x_1, block_size=0)
    with pytest.raises(ValueError, match="y_1"):
        couplings.ot_pairing(x_0, x_1, torch.zeros(7))
