"""fmlib.widgets.diffusion_explorer, headless: both panels against closed-form flows, the sampler switch."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import ipywidgets  # noqa: E402, F401  (the test extra: missing, these tests must fail, not skip)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import randn  # noqa: E402

from fmlib import diffusion  # noqa: E402
from fmlib import widgets as W  # noqa: E402


def spin(x, t):
    """v(x, t) = 2t (-x_2, x_1): x_t is x_0 turned by t^2 radians."""
    return 2 * t * torch.stack([-x[:, 1], x[:, 0]], dim=1)


def grow(x, t):
    """v(x, t) = x: x_t = e^t x_0."""
    return x


def score_of_standard_normal(x, t):
    return -x


def turned(x, angle):
    c, s = math.cos(angle), math.sin(angle)
    return x @ torch.tensor([[c, s], [-s, c]])


@pytest.fixture
def explorer():
    return W.diffusion_explorer(
        grow,
        spin,
        randn(20, dtype=torch.float32),
        score=score_of_standard_normal,
        steps=8,
        sde_steps=16,
        generator=torch.Generator().manual_seed(1),
    )


def test_both_panels_follow_their_closed_form_flows(explorer):
    a = explorer.artists
    for t in (0.0, 0.5, 1.0):
        explorer.update(t=t)
        np.testing.assert_allclose(
            a["flow"].get_offsets(), turned(randn(20, dtype=torch.float32), t**2).numpy(), atol=1e-4
        )
        t_ode = min(t, 1 - 1e-3) if t == 1.0 else t * (1 - 1e-3)  # the diffusion ODE stops at t_end
        np.testing.assert_allclose(
            a["diffusion"].get_offsets(),
            (math.exp(t_ode) * randn(20, dtype=torch.float32)).numpy(),
            rtol=1e-4,
        )
        assert f"t = {t:.2f}" in a["flow_title"].get_text()


def test_the_sampler_switch_shows_the_reverse_sde_with_its_own_noise(explorer):
    explorer.update(sampler="sde", t=1.0)
    run = diffusion.reverse_sde_trajectory(
        score_of_standard_normal,
        diffusion.VPSDE(),
        randn(20, dtype=torch.float32),
        steps=16,
        generator=torch.Generator().manual_seed(1),
        save_at=8,
    )
    np.testing.assert_allclose(
        explorer.artists["diffusion"].get_offsets(), run.x.numpy(), atol=1e-6
    )
    assert "reverse SDE" in explorer.artists["diffusion_title"].get_text()
    assert "NFE = 16" in explorer.artists["diffusion_metrics"].get_text()
    assert len(explorer.artists["diffusion_trails"].get_segments()) == 15  # a quarter of 60
    explorer.update(sampler="ode")
    assert "NFE = 32" in explorer.artists["diffusion_metrics"].get_text()  # RK4: 4 per step
    assert len(explorer.artists["diffusion_trails"].get_segments()) == 20  # all 20 particles


def test_the_two_line_titles_fit_inside_the_picture(explorer):
    renderer = explorer.figure.canvas.get_renderer()
    for key in ("diffusion_title", "flow_title"):
        box = explorer.artists[key].get_window_extent(renderer)
        assert box.y1 <= explorer.figure.bbox.height, (key, box.y1)


def test_metrics_match_straight_and_turning_paths(explorer):
    """grow moves each point along a ray (straightness 1); spin's chord / arc < 1, from the geometry."""
    data = explorer.data
    assert data["ode"]["straightness"] == pytest.approx(1.0, abs=1e-5)
    # kinetic energy of x_t = e^t x_0: int_0^T e^{2t} dt E|x_0|^2, finite differences on 8 steps
    e_x2 = randn(20, dtype=torch.float32).pow(2).sum(1).mean().item()
    t_end = 1 - 1e-3
    assert data["ode"]["kinetic_energy"] == pytest.approx(
        (math.exp(2 * t_end) - 1) / 2 * e_x2, rel=0.02
    )
    # spin turns each point by t^2 radians; the saved states (k / 8) are joined by chords
    turns = [((k + 1) / 8) ** 2 - (k / 8) ** 2 for k in range(8)]
    chord_over_polyline = math.sin(0.5) / sum(math.sin(d / 2) for d in turns)
    assert data["fm"]["straightness"] == pytest.approx(chord_over_polyline, rel=1e-4)


def test_static_fallbacks_and_bad_input(explorer):
    assert explorer.frames(values=[0.0, 1.0]) is not None
    with pytest.raises(TypeError, match="diffusion_field"):
        W.diffusion_explorer("not a field", spin, randn(20, dtype=torch.float32))
    with pytest.raises(ValueError, match="sde_steps"):
        W.diffusion_explorer(
            grow,
            spin,
            randn(20, dtype=torch.float32),
            score=score_of_standard_normal,
            steps=8,
            sde_steps=12,
        )
    with pytest.raises(ValueError, match="x_0"):
        W.diffusion_explorer(grow, spin, torch.randn(5, 3))
