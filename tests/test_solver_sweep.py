"""fmlib.solvers.error_vs_nfe and rms_error: a linear ODE, where Euler and RK4 have closed forms."""

import numpy as np
import pytest
import torch

from fmlib import solvers

A = torch.tensor([[-0.5, 1.0], [-1.0, -0.5]], dtype=torch.float64)


def linear(x, t):
    return x @ A.T


def test_error_vs_nfe_matches_closed_form_steps_and_counts():
    x_0 = torch.randn(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    exact = x_0 @ torch.linalg.matrix_exp(A).T
    runs = solvers.error_vs_nfe(linear, x_0, exact, ("euler", "rk4", "dopri5"), (1, 4))
    assert [(r.method, r.steps) for r in runs] == [
        ("euler", 1),
        ("euler", 4),
        ("rk4", 1),
        ("rk4", 4),
        ("dopri5", 0),
    ]
    euler_4 = x_0 @ torch.linalg.matrix_power(torch.eye(2, dtype=A.dtype) + A / 4, 4).T
    run = runs[1]
    assert run.nfe == 4
    np.testing.assert_allclose(run.x.numpy(), euler_4.numpy(), atol=1e-12)
    by_hand = np.sqrt(((euler_4 - exact) ** 2).sum(1).mean().item())
    assert run.rms_error == pytest.approx(by_hand, rel=1e-12)
    assert runs[3].nfe == 16 and runs[3].rms_error < runs[1].rms_error
    assert runs[4].rms_error < 1e-3


def test_rms_error_and_bad_methods():
    assert solvers.rms_error(torch.zeros(4, 2), torch.full((4, 2), 3.0)) == pytest.approx(
        np.sqrt(18)
    )
    with pytest.raises(ValueError, match="same shape"):
        solvers.rms_error(torch.zeros(4, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="methods"):
        solvers.error_vs_nfe(linear, torch.zeros(2, 2), torch.zeros(2, 2), ("leapfrog",))
