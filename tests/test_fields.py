"""fmlib.fields: closed-form divergence and curl against autograd and finite differences (Section 6.1.1)."""

import ast
import math
from pathlib import Path

import pytest
import torch
from helpers import randn

from fmlib import fields
from fmlib.likelihood import divergence_exact


def fd_jacobian(v, x, t=0.3, h=1e-5):
    """Central finite differences: J[b, i, j] = dv_i/dx_j, (B, 2, 2), in float64."""
    cols = []
    for j in range(2):
        e = torch.zeros(2, dtype=x.dtype)
        e[j] = h
        cols.append((v(x + e, t) - v(x - e, t)) / (2 * h))
    return torch.stack(cols, dim=2)


@pytest.mark.parametrize("radius,strength", [(1.5, 1.0), (1.0, 2.5), (3.0, -0.5)])
def test_source_sink_matches_its_formula_and_autograd(radius, strength):
    v = fields.source_sink(radius, strength)
    x = randn(64, scale=2.0)
    r2 = (x**2).sum(1)
    torch.testing.assert_close(v(x, 0.5), strength * x * (1 - r2 / radius**2)[:, None])
    # div (s x f(r^2)) = s (2 f + 2 r^2 f'), with f = 1 - r^2/R^2, derived again here
    expected_div = strength * (2 * (1 - r2 / radius**2) - 2 * r2 / radius**2)
    torch.testing.assert_close(v.divergence(x, 0.5), expected_div)
    torch.testing.assert_close(v.divergence(x, 0.5), divergence_exact(v, x, 0.5))
    torch.testing.assert_close(v.curl(x), torch.zeros(len(x), dtype=x.dtype))
    jac = fd_jacobian(v, x)
    torch.testing.assert_close(
        jac[:, 1, 0] - jac[:, 0, 1], torch.zeros(len(x), dtype=x.dtype), atol=1e-6, rtol=0
    )


def test_source_sink_points_out_inside_and_in_outside():
    v = fields.source_sink(radius=1.5)
    angles = torch.linspace(0, 2 * math.pi, 13, dtype=torch.float64)[:-1]
    unit = torch.stack([angles.cos(), angles.sin()], 1)
    assert bool(((v(0.5 * unit) * unit).sum(1) > 0).all())
    assert bool(((v(2.5 * unit) * unit).sum(1) < 0).all())
    torch.testing.assert_close(v(1.5 * unit), torch.zeros_like(unit), atol=1e-12, rtol=0)
    assert v.radius == 1.5


@pytest.mark.parametrize("omega", [1.0, -0.7, 3.0])
def test_rotation_is_divergence_free_with_curl_two_omega(omega):
    v = fields.rotation(omega)
    x = randn(64, scale=2.0)
    jac = fd_jacobian(v, x)
    torch.testing.assert_close(
        jac[:, 0, 0] + jac[:, 1, 1], torch.zeros(len(x), dtype=x.dtype), atol=1e-8, rtol=0
    )
    torch.testing.assert_close(
        jac[:, 1, 0] - jac[:, 0, 1], torch.full((len(x),), 2 * omega, dtype=x.dtype)
    )
    torch.testing.assert_close(v.divergence(x), torch.zeros(len(x), dtype=x.dtype))
    torch.testing.assert_close(v.curl(x), torch.full((len(x),), 2 * omega, dtype=x.dtype))
    torch.testing.assert_close(divergence_exact(v, x, 0.0), torch.zeros(len(x), dtype=x.dtype))


def test_gradient_field_is_minus_grad_of_wells_curl_free_with_divergence():
    centres = torch.tensor([[-1.0, 0.5], [1.0, -0.5], [0.0, 1.5]], dtype=torch.float64)
    depths = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    width = 0.8
    v = fields.gradient_field(centres.tolist(), depths.tolist(), width)
    x = randn(64, scale=1.5)

    def potential(x):
        r2 = ((x[:, None] - centres[None]) ** 2).sum(-1)
        return -(depths * torch.exp(-r2 / (2 * width**2))).sum(1)

    xg = x.clone().requires_grad_(True)
    (grad_u,) = torch.autograd.grad(potential(xg).sum(), xg)
    torch.testing.assert_close(v(x, 0.2), -grad_u)
    torch.testing.assert_close(v.divergence(x, 0.2), divergence_exact(v, x, 0.2))
    jac = fd_jacobian(v, x)
    torch.testing.assert_close(
        jac[:, 1, 0] - jac[:, 0, 1], torch.zeros(len(x), dtype=x.dtype), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(v.curl(x), torch.zeros(len(x), dtype=x.dtype))
    assert float(v.divergence(x).abs().max()) > 0.1
    # inside a well the flow converges: div v < 0 at each centre
    assert bool((v.divergence(centres) < 0).all())


def test_sum_of_fields_adds_divergence_and_curl():
    v = fields.rotation(0.5) + fields.source_sink(2.0)
    x = randn(64, scale=2.0)
    torch.testing.assert_close(v(x), fields.rotation(0.5)(x) + fields.source_sink(2.0)(x))
    torch.testing.assert_close(v.divergence(x), divergence_exact(v, x, 0.0))
    torch.testing.assert_close(v.curl(x), torch.full((len(x),), 1.0, dtype=x.dtype))
    assert isinstance(v, fields.AnalyticField)


def test_helpers_use_closed_forms_and_fall_back_to_autograd():
    a = torch.tensor([[0.3, -1.2], [0.7, 2.0]], dtype=torch.float64)

    def linear(x, t):
        return x @ a.T

    x = randn(8, scale=2.0)
    # a plain callable: autograd, compared with the trace and the antisymmetric part of A
    torch.testing.assert_close(
        fields.field_divergence(linear, x, 0.5), torch.full((8,), 2.3, dtype=x.dtype)
    )
    torch.testing.assert_close(
        fields.field_curl(linear, x, 0.5), torch.full((8,), 0.7 + 1.2, dtype=x.dtype)
    )
    # an AnalyticField: its own closed forms are used (sentinels prove it)
    sentinel = fields.AnalyticField(
        linear, lambda x, t: torch.full((len(x),), 42.0), lambda x, t: torch.full((len(x),), -7.0)
    )
    assert bool((fields.field_divergence(sentinel, x) == 42).all())
    assert bool((fields.field_curl(sentinel, x) == -7).all())


def test_time_may_be_a_batch_tensor_and_float32_is_kept():
    v = fields.source_sink()
    x = randn(5, scale=2.0, dtype=torch.float32)
    out = v(x, torch.full((5,), 0.25))
    assert out.dtype == torch.float32 and out.shape == (5, 2)
    assert v.divergence(x, torch.zeros(5)).shape == (5,)


def test_bad_input_raises_clear_errors():
    v = fields.source_sink()
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        v(torch.zeros(3))
    with pytest.raises(ValueError, match="D = 2"):
        v(torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        v(torch.zeros(3, 2), 1.5)
    with pytest.raises(TypeError, match="torch.Tensor"):
        v([[0.0, 0.0]])
    with pytest.raises(ValueError, match="radius"):
        fields.source_sink(radius=0.0)
    with pytest.raises(ValueError, match="centres"):
        fields.gradient_field(((0.0, 0.0),), (1.0, 2.0))
    with pytest.raises(ValueError, match="width"):
        fields.gradient_field(width=-1.0)
    with pytest.raises(TypeError, match="callable"):
        fields.field_divergence("not a field", torch.zeros(2, 2))
    with pytest.raises(TypeError, match="callable"):
        fields.AnalyticField(None, None, None)


def test_fields_is_compute_layer_without_matplotlib():
    tree = ast.parse(Path(fields.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name.startswith(("matplotlib", "ipywidgets")) for name in imported), imported
