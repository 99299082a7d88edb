"""log_prob of a field that is only locally Lipschitz: a clear error outside the flow's image."""

import math

import pytest
import torch

import fmlib as fm


@pytest.mark.parametrize("method", ["rk4", "dopri5"])
def test_log_prob_outside_the_image_names_the_cause(method):
    # v = x (1 - |x|^2 / R^2): the time-1 image of R^2 is |x| < R / sqrt(1 - e^-2), 1.61 for R = 1.5
    field = fm.fields.source_sink(radius=1.5)
    x = torch.tensor([[0.5, 0.0], [2.0, 0.0]])
    with pytest.raises(fm.likelihood.FlowBlowUpError, match="locally Lipschitz"):
        fm.likelihood.log_prob(field, x, method=method, steps=40)


def test_log_prob_inside_the_image_matches_the_closed_form():
    # radial flow: u = |x|^2 / R^2 solves du/dt = 2u(1 - u), so x_0 and the Jacobian are known
    R, r_1 = 1.5, 1.2
    u_1 = r_1**2 / R**2
    u_0 = u_1 / (u_1 + (1 - u_1) * math.exp(2))  # the logistic solution run back one unit of time
    r_0 = R * math.sqrt(u_0)
    # d r_1 / d r_0 from u_1 = u_0 e^2 / (1 - u_0 + u_0 e^2), and the tangential stretch r_1 / r_0
    du1_du0 = math.exp(2) / (1 - u_0 + u_0 * math.exp(2)) ** 2
    dr1_dr0 = du1_du0 * (r_0 / r_1)
    log_p_0 = -math.log(2 * math.pi) - r_0**2 / 2
    expected = log_p_0 - math.log(dr1_dr0) - math.log(r_1 / r_0)
    got = fm.likelihood.log_prob(
        fm.fields.source_sink(radius=R), torch.tensor([[r_1, 0.0]]), method="rk4", steps=200
    )
    assert abs(got.item() - expected) < 1e-4


def test_a_nan_free_solve_is_untouched():
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    got = fm.likelihood.log_prob(lambda x, t: -x, x, method="rk4", steps=50)
    # v = -x: x_0 = e x_1, div = -2, so log p_1(x_1) = log N(e x_1) + 2
    expected = fm.StandardGaussian(2).log_prob(math.e * x) + 2
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
