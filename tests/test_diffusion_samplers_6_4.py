"""fmlib.diffusion and fmlib.training helpers of notebook 6.4, against closed forms.

``model_sampler`` (one sampler for noise and velocity networks), ``linear_equivalent`` (the
equal-signal-to-noise map between an affine path and the linear path), ``ended_path`` (the VP
path rescaled to [0, t_end]) and ``training.W2Checkpoints`` (W2 of samples during training).
"""

from __future__ import annotations

import math

import pytest
import torch

from fmlib import diffusion, paths, training


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_model_sampler_velocity_constant_field_moves_by_t_end():
    """dx/dt = c from x_0 ~ N(0, I): x(t_end) = x_0 + c t_end, with x_0 drawn by the generator."""
    c = torch.tensor([0.5, -2.0])
    sample = diffusion.model_sampler(lambda x, t: c.expand_as(x), steps=3, t_end=0.8)
    x_0 = torch.randn(50, 2, generator=_gen(4))
    torch.testing.assert_close(sample(50, _gen(4)), x_0 + 0.8 * c)


def test_model_sampler_noise_gaussian_data_pf_ode_stands_still():
    """Data N(0, I) on the VP path: p_t = N(0, I) for all t, eps* = sigma_t x, the PF-ODE field is 0."""
    vp = paths.vp_path()

    def eps_star(x, t):
        return vp.coefficients(t, x).sigma_t * x

    sample = diffusion.model_sampler(eps_star, predicts="noise", steps=4, t_end=0.99)
    x_0 = torch.randn(40, 2, generator=_gen(5))
    torch.testing.assert_close(sample(40, _gen(5)), x_0, atol=1e-5, rtol=1e-5)


def test_model_sampler_rejects_unknown_target():
    with pytest.raises(ValueError, match="predicts"):
        diffusion.model_sampler(lambda x, t: x, predicts="score")


def test_linear_equivalent_equal_snr_and_scaled_points():
    """r / (1 - r) = alpha / sigma, and r x_1 + (1 - r) x_0 = c (alpha x_1 + sigma x_0) exactly."""
    vp = paths.vp_path()
    t = torch.linspace(0.0, 0.99, 12, dtype=torch.float64)
    r, c = diffusion.linear_equivalent(vp, t)
    alpha, sigma, _, _ = vp.scheduler(t)
    torch.testing.assert_close(r / (1 - r), alpha / sigma)
    x_0, x_1 = torch.randn(2, dtype=torch.float64), torch.randn(2, dtype=torch.float64)
    x_lin = r[:, None] * x_1 + (1 - r[:, None]) * x_0
    torch.testing.assert_close(x_lin, c[:, None] * (alpha[:, None] * x_1 + sigma[:, None] * x_0))


def test_linear_equivalent_identity_on_linear_path_and_shrink_on_vp():
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    r, c = diffusion.linear_equivalent(paths.linear_path(), t)
    torch.testing.assert_close(r, t)
    torch.testing.assert_close(c, torch.ones_like(t))
    _, c_vp = diffusion.linear_equivalent(paths.vp_path(), torch.linspace(0, 1, 20_001).double())
    assert abs(c_vp.min().item() - 1 / math.sqrt(2)) < 1e-6  # at alpha = sigma = 1 / sqrt(2)


def test_ended_path_is_vp_at_scaled_time_with_scaled_derivatives():
    t_end, t = 0.9, torch.tensor([0.1, 0.5, 1.0], dtype=torch.float64)
    ended, vp = diffusion.ended_path(t_end=t_end), paths.vp_path()
    a, s, da, ds = ended.scheduler(t)
    a_vp, s_vp, _, _ = vp.scheduler(t_end * t)
    torch.testing.assert_close((a, s), (a_vp, s_vp))
    h = 1e-6
    fd = (ended.scheduler(t + h).alpha_t - ended.scheduler(t - h).alpha_t) / (2 * h)
    torch.testing.assert_close(da, fd, rtol=1e-6, atol=1e-8)
    fd_s = (ended.scheduler(t + h).sigma_t - ended.scheduler(t - h).sigma_t) / (2 * h)
    torch.testing.assert_close(ds, fd_s, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="t_end"):
        diffusion.ended_path(t_end=1.0)


def test_w2_checkpoints_shifted_copy_scores_the_shift():
    """W2 between a point set and its translate by c is |c| (a permutation's cross term vanishes)."""
    reference = torch.randn(64, 2, generator=_gen(6))
    shift = torch.tensor([0.3, -0.4])  # |shift| = 0.5

    def to_sampler(model):
        return lambda n, generator: reference + model * shift

    curve = training.W2Checkpoints(to_sampler, reference)
    for step, scale in ((10, 2.0), (20, 1.0), (30, 0.0)):
        curve(step, 0.0, scale)
    assert curve.steps == [10, 20, 30]
    assert curve.w2 == pytest.approx([1.0, 0.5, 0.0], abs=1e-6)
    assert curve.steps_to(0.6) == 20 and curve.steps_to(-1.0) is None
    assert curve.cpu_s >= 0.0
