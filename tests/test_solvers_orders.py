"""fmlib.solvers.convergence_order and nfe_to_reach against closed forms."""

import math

import pytest
import torch

from fmlib import solvers

A = torch.tensor([[-0.5, 1.0], [-1.0, -0.5]], dtype=torch.float64)


def linear(x, t):
    return x @ A.T


@pytest.mark.parametrize(
    ("method", "order"), [("euler", 1), ("heun", 2), ("midpoint", 2), ("rk4", 4)]
)
def test_convergence_order_on_a_linear_ode(method, order):
    x_0 = torch.randn(10, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    exact = x_0 @ torch.linalg.matrix_exp(A).T  # dx/dt = A x has x_1 = exp(A) x_0
    runs = solvers.error_vs_nfe(linear, x_0, exact, (method,), steps=(16, 32, 64))
    assert solvers.convergence_order(runs, method) == pytest.approx(order, abs=0.08)


def _runs(method, nfes, c, p):
    return [solvers.SolverRun(method, n, torch.zeros(1, 2), n, c * n**-p) for n in nfes]


def test_convergence_order_is_exact_for_a_power_law():
    runs = _runs("heun", (2, 4, 8, 16), 3.0, 2.0)  # steps = nfe here; error 3 h^2
    assert solvers.convergence_order(runs, "heun") == pytest.approx(2.0, abs=1e-12)
    assert solvers.convergence_order(runs, "heun", steps=(8, 16)) == pytest.approx(2.0, abs=1e-12)
    with pytest.raises(ValueError):
        solvers.convergence_order(runs, "dopri5")


def test_nfe_to_reach_interpolates_a_power_law_exactly():
    runs = _runs("rk4", (4, 8, 16, 32), 2.0, 4.0)
    target = 1e-4
    # error = 2 n^-4 reaches target at n = (2 / target)^(1/4), between 8 and 16
    assert solvers.nfe_to_reach(runs, "rk4", target) == pytest.approx(
        (2 / target) ** 0.25, rel=1e-9
    )
    assert solvers.nfe_to_reach(runs, "rk4", 10.0) == 4.0  # the first run is already there
    assert math.isinf(solvers.nfe_to_reach(runs, "rk4", 1e-12))
    with pytest.raises(ValueError):
        solvers.nfe_to_reach(runs, "euler", 1e-3)
