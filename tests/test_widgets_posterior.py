"""The posterior explorer (Section 6.3.2), headless: weights, arrow and posterior mean against
Bayes' rule written out here with NumPy, the controls, Play, the static fallbacks."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402, F401  (the test extra: missing, these tests must fail, not skip)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import randn  # noqa: E402

from fmlib import widgets as W  # noqa: E402


def bayes(pts, x, t, sigma_min):
    """q(j | x_t = x) and u_t(x) for the straight path, from scratch in float64."""
    pts, x = pts.double().numpy(), np.asarray(x, dtype=float)
    sigma_t = 1 - (1 - sigma_min) * t
    log_w = -((x - t * pts) ** 2).sum(1) / (2 * sigma_t**2)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    x_0 = (x - t * pts) / sigma_t  # the noise each data point implies
    u = (w[:, None] * (pts - (1 - sigma_min) * x_0)).sum(0)
    return w, u


@pytest.mark.parametrize("t, x", [(0.0, (0.3, -0.2)), (0.5, (1.0, 0.5)), (0.95, (-1.2, 0.4))])
def test_weights_arrow_and_mean_are_bayes_rule(t, x):
    pts = randn(12, dtype=torch.float32)
    ex = W.posterior_explorer(pts, sigma_min=0.05, n=40)
    ex.update(t=t, x=x[0], y=x[1])
    order = np.argsort(pts[:, 0].numpy())  # bars are ordered by the points' x coordinate
    w, u = bayes(pts[order], x, t, 0.05)
    a = ex.artists
    np.testing.assert_allclose(a["weights"].get_data().values, w, atol=1e-6)
    np.testing.assert_allclose([a["arrow"].U[0], a["arrow"].V[0]], (1 - t) * u, atol=1e-5)
    np.testing.assert_allclose(a["arrow"].get_offsets()[0], x, atol=1e-6)
    np.testing.assert_allclose(a["query"].get_offsets()[0], x, atol=1e-6)
    np.testing.assert_allclose(a["mean"].get_offsets()[0], w @ pts[order].numpy(), atol=1e-5)
    assert a["weights"].get_data().values.sum() == pytest.approx(1.0)
    assert ex.artists["title"].get_text() == f"x = ({x[0]:.2f}, {x[1]:.2f})"
    assert ex.artists["t_title"].get_text() == f"t = {t:.2f}"
    # the box's three lines: 1 / sum q^2, the largest weight, |u_t(x)|, each on its own line
    lines = [ex.artists[f"metrics_{k}"].get_text().splitlines()[k] for k in range(3)]
    assert lines[0] == f"effective points 1/sum q^2 = {1 / (w**2).sum():4.1f}"
    assert lines[1] == f"largest weight = {w.max():4.2f}"
    assert lines[2] == f"|u_t(x)| = {np.linalg.norm(u):4.1f}"


def test_at_t_0_every_point_weighs_the_same_and_at_t_1_the_nearest_point_wins():
    pts = randn(20, seed=3, dtype=torch.float32)
    ex = W.posterior_explorer(pts, x=(0.4, 0.1), sigma_min=0.05, n=40)
    ex.update(t=0.0)
    np.testing.assert_allclose(ex.artists["weights"].get_data().values, 1 / 20, atol=1e-9)
    assert ex.artists["metrics_0"].get_text() == "effective points 1/sum q^2 = 20.0"
    ex.update(t=1.0)
    weights = ex.artists["weights"].get_data().values
    # the winner is the data point nearest to x (in bar order)
    order = np.argsort(pts[:, 0].numpy())
    winner = np.argmin(np.linalg.norm(pts[order].numpy() - [0.4, 0.1], axis=1))
    assert weights.argmax() == winner
    np.testing.assert_allclose(weights, bayes(pts[order], (0.4, 0.1), 1.0, 0.05)[0], atol=1e-6)
    # at t = 1 the arrow (1 - t) u_t(x) has length 0 and the mean sits on the winner
    assert ex.artists["arrow"].U[0] == 0 and ex.artists["arrow"].V[0] == 0


def test_background_samples_follow_the_path_and_play_drives_t():
    pts = randn(12, dtype=torch.float32)
    ex = W.posterior_explorer(pts, n=30, frames=10, sigma_min=0.1)
    x_0, x_1 = ex.scene.pair
    ex.play.value = 7  # Play is linked to the t slider: t = 7 / 10
    assert ex.state["t"] == pytest.approx(0.7)
    expected = 0.7 * x_1 + (1 - 0.9 * 0.7) * x_0
    np.testing.assert_allclose(ex.artists["p_t"].get_offsets(), expected.numpy(), atol=1e-6)
    assert {"fm-explorer", "fm-posterior-explorer"} <= set(ex.widget._dom_classes)


def test_static_fallbacks_and_state_restored():
    ex = W.posterior_explorer(randn(12, dtype=torch.float32), n=30, frames=10)
    ex.update(t=0.3)
    before = ex.artists["weights"].get_data().values.copy()
    fig = ex.frames()
    assert len([ax for ax in fig.axes if ax.images]) == 5
    assert "<script" in ex.animate(values=[0.0, 0.5, 1.0]).data
    np.testing.assert_allclose(ex.artists["weights"].get_data().values, before)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(points=torch.zeros(5, 3)), ValueError),
        (dict(points=[[0.0, 1.0]]), TypeError),
        (dict(sigma_min=0.0), ValueError),
        (dict(x=(1.0,)), ValueError),
    ],
)
def test_bad_input(kwargs, error):
    args = {"points": randn(12, dtype=torch.float32), **kwargs}
    with pytest.raises(error):
        W.posterior_explorer(**args)
