"""Section 6.3.3: flat_grad, the gradient of a loss over a model's parameters, against a closed form."""

import pytest
import torch

import fmlib as fm


def test_flat_grad_of_least_squares_is_the_closed_form():
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(50, 3, generator=g), torch.randn(50, 2, generator=g)
    residual = model(x) - y
    grad = fm.training.flat_grad(model, residual.pow(2).sum(1).mean())
    # d/dW mean |W x + b - y|^2 = 2 mean r x^T, d/db = 2 mean r (parameters in order W, b)
    expected = torch.cat([(2 * residual.T @ x / 50).flatten(), 2 * residual.mean(0)]).detach()
    torch.testing.assert_close(grad, expected)
    # the graph is kept: a second loss of the same forward pass can be differentiated too
    assert fm.training.flat_grad(model, residual.sum()).shape == (3 * 2 + 2,)


def test_flat_grad_skips_frozen_parameters_and_rejects_non_scalars():
    model = torch.nn.Linear(2, 1)
    model.bias.requires_grad_(False)
    out = model(torch.ones(4, 2))
    assert fm.training.flat_grad(model, out.sum()).shape == (2,)
    with pytest.raises(ValueError, match="scalar"):
        fm.training.flat_grad(model, out)
