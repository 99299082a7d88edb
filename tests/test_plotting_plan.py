"""fm.plotting.draw_plan and draw_plan_matrix draw what the plan holds."""

import numpy as np
import pytest
import torch

import fmlib as fm


def test_draw_plan_one_line_per_nonzero_entry_width_by_mass():
    x = torch.tensor([[0.0, 1.0], [0.0, 0.0], [0.0, -1.0]])
    y = torch.tensor([[2.0, 0.5], [2.0, -0.5]])
    plan = fm.ot.ot_plan(x, y)  # the middle point splits: four lines, masses 1/3, 1/6, 1/6, 1/3
    fig, ax = fm.plotting.new_figure()
    lc = fm.plotting.draw_plan(ax, x, y, plan, width=6.0)
    assert len(lc.get_segments()) == 4
    np.testing.assert_allclose(sorted(lc.get_linewidths()), [3.0, 3.0, 6.0, 6.0], atol=1e-9)
    with pytest.raises(ValueError, match="plan must be"):
        fm.plotting.draw_plan(ax, x, y, plan.T)


def test_draw_plan_matrix_writes_every_entry():
    plan = np.array([[0.5, 0.0], [0.0, 0.5]])
    fig, ax = fm.plotting.new_figure()
    im = fm.plotting.draw_plan_matrix(ax, plan)
    np.testing.assert_array_equal(im.get_array(), plan)
    assert sorted(t.get_text() for t in ax.texts) == ["0.00", "0.00", "0.50", "0.50"]
