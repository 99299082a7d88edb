"""Section 6.3.2: the marginal field of a general coupling, and the continuity-equation residual.

Referees: the independent coupling (c_k = 0, blur = 1 is p_0 p_1, whose field EmpiricalTarget
knows), one pair in closed form, and the Gaussian-to-Gaussian closed form for the residual.
"""

import math

import pytest
import torch

import fmlib as fm
from fmlib import analytic


def test_zero_centres_and_unit_blur_are_the_independent_coupling():
    g = torch.Generator().manual_seed(0)
    points, x = torch.randn(9, 2, generator=g), 2 * torch.randn(40, 2, generator=g)
    t = 0.9 * torch.rand(40, generator=g)
    coupled = analytic.coupled_target(torch.zeros(9, 2), points, blur=1.0)
    independent = analytic.empirical_target(points)
    for name in ("posterior", "velocity", "log_prob"):
        torch.testing.assert_close(getattr(coupled, name)(x, t), getattr(independent, name)(x, t))


def test_one_pair_in_closed_form():
    c, x_1, blur, t = torch.tensor([[0.5, -1.0]]), torch.tensor([[2.0, 1.0]]), 0.4, 0.3
    x = torch.tensor([[0.0, 0.0], [1.0, -0.5]], dtype=torch.float64)
    coupled = analytic.coupled_target(c, x_1, blur)
    # x_t = t x_1 + (1 - t) x_0 with x_0 ~ N(c, blur^2 I): N(t x_1 + (1 - t) c, ((1 - t) blur)^2 I)
    mean, s = t * x_1.double() + (1 - t) * c.double(), (1 - t) * blur
    log_p = -((x - mean) ** 2).sum(1) / (2 * s**2) - 2 * math.log(s) - math.log(2 * math.pi)
    torch.testing.assert_close(coupled.log_prob(x, t), log_p)
    torch.testing.assert_close(coupled.velocity(x, t), (x_1.double() - x) / (1 - t))  # x_1 - x_0


def test_samples_of_one_pair_have_the_closed_form_moments():
    coupled = analytic.coupled_target(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]]), 0.5)
    x = coupled.sample(200_000, 0.4, torch.Generator().manual_seed(1))
    torch.testing.assert_close(x.mean(0), torch.tensor([0.6, 0.8]), atol=5e-3, rtol=0)
    torch.testing.assert_close(x.std(0), torch.tensor([0.3, 0.3]), atol=5e-3, rtol=0)


def test_continuity_residual_of_the_gaussian_closed_form_is_second_order():
    gauss = analytic.gaussian_target(
        torch.tensor([1.0, -0.5]), torch.tensor([[0.5, 0.2], [0.2, 0.4]])
    )
    coarse, fine = (analytic.continuity_residual(gauss, gauss, 0.5, 4.0, n) for n in (41, 81))
    assert fine < 0.02 and 3.5 < coarse / fine < 4.5
    wrong = fm.analytic.gaussian_target(
        torch.tensor([1.0, 0.5]), torch.eye(2)
    )  # another path's field
    assert analytic.continuity_residual(gauss, wrong, 0.5, 4.0, 81) > 0.3


def test_coupled_target_rejects_bad_input():
    with pytest.raises(ValueError, match="blur"):
        analytic.coupled_target(torch.zeros(2, 2), torch.zeros(2, 2), blur=0.0)
    with pytest.raises(ValueError, match="c and x_1"):
        analytic.coupled_target(torch.zeros(2, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="t = 1"):
        analytic.coupled_target(torch.zeros(2, 2), torch.ones(2, 2)).velocity(
            torch.zeros(1, 2), 1.0
        )
