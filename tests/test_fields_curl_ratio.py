"""fm.fields.field_jacobian and curl_ratio against closed forms (linear fields, a rotation, the OT field)."""

import math

import pytest
import torch

import fmlib as fm


def _points(n=200, seed=0):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("a", [[[1.0, 0.3], [0.3, -2.0]], [[0.5, -1.0], [2.0, 0.0]]])
def test_jacobian_and_curl_ratio_of_a_linear_field(a):
    a = torch.tensor(a, dtype=torch.float64)
    x = _points()
    jac = fm.fields.field_jacobian(lambda x, t: x @ a.T, x, 0.3)
    torch.testing.assert_close(jac, a.expand(len(x), 2, 2))
    expected = abs(a[1, 0] - a[0, 1]).item() / a.norm().item()  # |curl| / ||A||_F
    assert fm.fields.curl_ratio(lambda x, t: x @ a.T, x) == pytest.approx(expected, abs=1e-12)


def test_rotation_scores_sqrt_2_whatever_omega():
    for omega in (0.1, 3.0):
        ratio = fm.fields.curl_ratio(fm.fields.rotation(omega), _points())
        assert ratio == pytest.approx(math.sqrt(2), rel=1e-12)


def test_gaussian_ot_field_is_curl_free_and_a_rotation_added_is_not():
    m_1, s_1 = torch.tensor([3.0, 1.0]), torch.tensor([[1.5, 0.6], [0.6, 0.5]])
    ot = fm.analytic.GaussianDisplacement(torch.zeros(2), torch.eye(2), m_1, s_1)
    x = _points()
    for t in (0.1, 0.5, 0.9):
        assert fm.fields.curl_ratio(ot, x, t) < 1e-12
    rot = fm.fields.rotation(0.2)
    assert fm.fields.curl_ratio(lambda x, t: ot(x, t) + rot(x, t), x, 0.5) > 0.05


def test_field_sum_adds_the_fields_and_their_curls():
    x = _points()
    total = fm.fields.field_sum(fm.fields.rotation(0.5), fm.fields.rotation(0.25))
    torch.testing.assert_close(total(x, 0.0), fm.fields.rotation(0.75)(x, 0.0))
    jac = fm.fields.field_jacobian(total, x)
    torch.testing.assert_close(
        jac[:, 1, 0] - jac[:, 0, 1], torch.full((len(x),), 1.5, dtype=x.dtype)
    )
    with pytest.raises(ValueError):
        fm.fields.field_sum()
