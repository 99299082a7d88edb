"""The digits explorer (Section 6.6): frames against the closed-form flow of a constant field."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402, F401  (the test extra: missing, these tests must fail, not skip)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from fmlib import plotting as P  # noqa: E402
from fmlib.widgets.digits import digits_explorer  # noqa: E402


class ConstantField(torch.nn.Module):
    """v(x, t, y) = c_y, one constant velocity per class (and one for the null class)."""

    dim, num_classes, null_class = 64, 10, 10

    def __init__(self):
        super().__init__()
        self.c = torch.randn(11, 64, generator=torch.Generator().manual_seed(5))

    def forward(self, x, t, y):
        return self.c[y]


def to_pixels(x):
    return (8 + 4 * x).reshape(-1, 8, 8)


def expected_canvas(ex, model, y, w, t):
    """x_t = x_0 + t (c_null + w (c_y - c_null)): every solver is exact on a constant field."""
    x_0 = ex.scene.x_0
    x_t = x_0 + t * (model.c[10] + w * (model.c[y] - model.c[10]))
    images = to_pixels(x_t).reshape(ex.scene.rows, ex.scene.cols, 8, 8)
    return np.clip(P.image_canvas(images), 0.0, 16.0)


def test_frames_follow_the_guided_flow_and_t_only_picks_a_saved_one():
    model = ConstantField()
    ex = digits_explorer(model, to_pixels, rows=2, cols=3, steps=8)
    ex.update(y=3, w=2.0, t=0.5)
    shown = ex.scene.artists["images"].get_array()
    np.testing.assert_allclose(shown, expected_canvas(ex, model, 3, 2.0, 0.5), atol=1e-4)
    solves = len(ex.scene.cache)
    ex.update(t=0.25)
    np.testing.assert_allclose(
        ex.scene.artists["images"].get_array(), expected_canvas(ex, model, 3, 2.0, 0.25), atol=1e-4
    )
    assert len(ex.scene.cache) == solves, "moving t must not solve again"
    assert "digit 3" in ex.scene.artists["title"].get_text()


def test_blitted_frame_matches_a_full_redraw():
    ex = digits_explorer(ConstantField(), to_pixels, rows=2, cols=4, steps=4)
    for key, value in (("y", 7), ("w", 3.0), ("t", 0.5)):
        ex.update(**{key: value})
        ex.draw()
        blitted = np.asarray(ex.figure.canvas.buffer_rgba()).copy()
        ex.figure.canvas.draw()
        full = np.asarray(ex.figure.canvas.buffer_rgba()).copy()
        differs = (np.abs(blitted.astype(int) - full.astype(int)).max(-1) > 8).mean()
        assert differs < 0.002, f"{key} = {value}: {differs:.2%} of the pixels differ"


def test_bad_input():
    with pytest.raises(ValueError, match="class-conditional"):
        digits_explorer(torch.nn.Linear(2, 2), to_pixels)
    with pytest.raises(TypeError, match="to_pixels"):
        digits_explorer(ConstantField(), "pixels")
    with pytest.raises(ValueError, match="rows"):
        digits_explorer(ConstantField(), to_pixels, rows=0)
