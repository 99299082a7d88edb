"""fmlib.plotting.draw_crossings: the number of paths that enter a disc, against geometry."""

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402

from fmlib import plotting  # noqa: E402


def test_draw_crossings_counts_lines_through_a_disc():
    # horizontal lines at heights y_k from x = -2 to 2: the line enters the unit disc iff |y_k| < 1
    heights = torch.linspace(-1.9, 1.9, 39)
    ts = torch.linspace(0, 1, 201)
    xs = torch.stack([torch.stack([torch.full_like(heights, -2 + 4 * s), heights], 1) for s in ts])
    fig, ax = plotting.new_figure(1)
    count = plotting.draw_crossings(ax, xs, lambda x: x.pow(2).sum(1) < 1.0, lims=2.5, title="disc")
    assert count == int((heights.abs() < 1.0).sum())
    assert ax.get_title() == f"disc: {count} of 39 cross"
    assert len(ax.collections) == 3  # two LineCollections and the end points
