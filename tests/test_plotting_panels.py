"""Sections 6.3.1 and 6.3.3: the panel helpers draw exactly what they are given."""

import numpy as np
import pytest
import torch

import fmlib as fm


def test_panel_grid_draws_points_and_images_as_given():
    pts = torch.tensor([[0.0, 1.0], [1.0, -1.0]])
    img = np.arange(12.0).reshape(3, 4)
    fig = fm.plotting.panel_grid({"a": [pts, pts], "b": [img, img]}, 2.0, titles=["t = 0", "t = 1"])
    axes = np.array(fig.axes).reshape(2, 2)
    np.testing.assert_array_equal(axes[0, 0].collections[0].get_offsets(), pts.numpy())
    np.testing.assert_array_equal(axes[1, 1].images[0].get_array(), img)
    assert axes[0, 1].get_title() == "t = 1" and axes[1, 0].get_ylabel() == "b"
    with pytest.raises(ValueError, match="same number"):
        fm.plotting.panel_grid({"a": [pts], "b": [img, img]}, 2.0)


def test_error_map_of_a_field_against_itself_is_zero_and_against_zero_is_its_norm():
    target = fm.analytic.gaussian_target(torch.tensor([1.0, 0.0]), 0.3 * torch.eye(2))
    _, same = fm.plotting.error_map_panels(target, target, times=(0.5,), lims=2.0, n=21)
    assert same[0]["max"] < 1e-5
    zero = lambda x, t: 0 * x  # noqa: E731
    _, found = fm.plotting.error_map_panels(zero, target, times=(0.5,), lims=2.0, n=21)
    grid = fm.grids.grid(2.0, 21)
    speed = target.velocity(grid, 0.5).norm(dim=1)
    assert found[0]["max"] == pytest.approx(speed.max().item(), rel=1e-5)
    assert found[0]["at"] == tuple(round(c, 2) for c in grid[int(speed.argmax())].tolist())


def test_pair_panels_titles_give_the_mean_squared_length():
    x_0, x_1 = torch.zeros(5, 2), torch.tensor([[1.0, 0.0]] * 5)
    fig = fm.plotting.pair_panels({"pairs": fm.couplings.independent(x_0, x_1)})
    assert "E|x_1 - x_0|^2 = 1.00" in fig.axes[0].get_title()
