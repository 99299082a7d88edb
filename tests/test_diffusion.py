"""fmlib.diffusion: score <-> velocity, the probability-flow ODE and reverse-SDE sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import AFFINE_PATHS, BETA_MAX, BETA_MIN, affine_coefficients, generator, randn

from fmlib import analytic, diffusion, models, paths, solvers

TIMES = [0.05, 0.3, 0.6, 0.9]
MEANS = torch.tensor([[-1.0, 1.0], [1.5, 0.0], [0.0, -2.0]], dtype=torch.float64)
COVS = torch.tensor([0.3, 0.1, 0.5], dtype=torch.float64)


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", TIMES)
def test_score_to_velocity_and_back_are_inverses(path_name, t):
    """Self-consistency only (fmlib against fmlib): the two maps undo each other. The reference
    checks are the Tweedie formula written out and the Gaussian-conditioning test below."""
    path = AFFINE_PATHS[path_name]()
    x, score = randn(8, seed=1, scale=1.5), randn(8, seed=2, scale=1.5)
    vel = diffusion.score_to_velocity(score, x, t, path)
    np.testing.assert_allclose(
        diffusion.velocity_to_score(vel, x, t, path).numpy(), score.numpy(), rtol=1e-9, atol=1e-10
    )
    np.testing.assert_allclose(
        diffusion.score_to_velocity(
            diffusion.velocity_to_score(score, x, t, path), x, t, path
        ).numpy(),
        score.numpy(),
        rtol=1e-9,
        atol=1e-10,
    )


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", TIMES)
def test_both_maps_against_gaussian_conditioning(path_name, t):
    """x_1 ~ N(m, c I), x_0 ~ N(0, I), x = a x_1 + s x_0 is jointly Gaussian with x_1 and x_0:
    p_t = N(a m, v I) with v = a^2 c + s^2, so score = -(x - a m) / v, and by Gaussian conditioning
    E[x_1 | x] = m + (a c / v)(x - a m), E[x_0 | x] = (s / v)(x - a m); the marginal velocity is
    u = d_a E[x_1 | x] + d_s E[x_0 | x]. Both maps are checked against these, independently."""
    a, s, da, ds = affine_coefficients(path_name, t)
    m, c = torch.tensor([0.7, -1.2], dtype=torch.float64), 0.4
    v = a**2 * c + s**2
    x = randn(8, seed=5, scale=1.5)
    score = -(x - a * m) / v
    velocity = da * (m + (a * c / v) * (x - a * m)) + ds * (s / v) * (x - a * m)
    path = AFFINE_PATHS[path_name]()
    np.testing.assert_allclose(
        diffusion.score_to_velocity(score, x, t, path).numpy(),
        velocity.numpy(),
        rtol=1e-9,
        atol=1e-10,
    )
    np.testing.assert_allclose(
        diffusion.velocity_to_score(velocity, x, t, path).numpy(),
        score.numpy(),
        rtol=1e-9,
        atol=1e-10,
    )


@pytest.mark.parametrize(
    "fn, t, name",
    [
        ("score_to_velocity", 0.0, "alpha_t"),
        ("velocity_to_score", 1.0, "sigma_t"),
        ("velocity_to_score", 0.0, "alpha_t"),
    ],
)
def test_maps_raise_where_they_divide_by_zero(fn, t, name):
    """On the linear path alpha_0 = 0 (pure noise) and sigma_1 = 0 (a point mass): a clear
    ValueError naming the coefficient instead of silent inf / NaN, also for a (B,) t with one bad entry."""
    x = randn(4, scale=1.5)
    path = AFFINE_PATHS["linear"]()
    with pytest.raises(ValueError, match=rf"{name} must be non-zero"):
        getattr(diffusion, fn)(x, x, t, path)
    t_b = torch.tensor([0.5, 0.5, t, 0.5], dtype=torch.float64)
    with pytest.raises(ValueError, match=rf"{name} must be non-zero"):
        getattr(diffusion, fn)(x, x, t_b, path)
    assert torch.isfinite(getattr(diffusion, fn)(x, x, 0.5, path)).all()


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", TIMES)
def test_score_to_velocity_matches_tweedie_written_out(path_name, t):
    """u = d_alpha E[x_1 | x] + d_sigma E[x_0 | x], E[x_1 | x] = (x + sigma^2 s) / alpha, E[x_0 | x] = -sigma s."""
    a, s, da, ds = affine_coefficients(path_name, t)
    x, score = randn(6, seed=3, scale=1.5), randn(6, seed=4, scale=1.5)
    expected = da * (x + s**2 * score) / a + ds * (-s * score)
    np.testing.assert_allclose(
        diffusion.score_to_velocity(score, x, t, AFFINE_PATHS[path_name]()).numpy(),
        expected.numpy(),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize("path_name", AFFINE_PATHS)
@pytest.mark.parametrize("t", TIMES)
def test_mixture_score_maps_to_mixture_velocity(path_name, t):
    """Two independently coded closed forms of one marginal path agree through the Tweedie map."""
    mix = analytic.GaussianMixture(MEANS, COVS, None, AFFINE_PATHS[path_name]())
    x = randn(10, seed=5, scale=1.5)
    np.testing.assert_allclose(
        diffusion.score_to_velocity(mix.score(x, t), x, t, mix.path).numpy(),
        mix.velocity(x, t).numpy(),
        rtol=1e-8,
        atol=1e-9,
    )


@pytest.mark.parametrize("t", [0.0, *TIMES])
def test_probability_flow_field_equals_the_vp_marginal_velocity(t):
    sde = diffusion.VPSDE(BETA_MIN, BETA_MAX)
    mix = analytic.GaussianMixture(MEANS, COVS, None, sde.path())
    x = randn(10, seed=6, scale=1.5)
    v = diffusion.probability_flow_field(mix.score, sde)
    np.testing.assert_allclose(v(x, t).numpy(), mix.velocity(x, t).numpy(), rtol=1e-8, atol=1e-9)


def test_vp_sde_coefficients():
    """f(x, s) = -beta(s) x / 2 and g(s)^2 = beta(s), beta(s) = beta_min + s (beta_max - beta_min), s = 1 - t."""
    sde = diffusion.VPSDE(BETA_MIN, BETA_MAX)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64)
    beta = BETA_MIN + (1 - t) * (BETA_MAX - BETA_MIN)
    x = randn(4, seed=7, scale=1.5)
    torch.testing.assert_close(sde.drift(x, t), -0.5 * beta[:, None] * x)
    torch.testing.assert_close(sde.diffusion(t) ** 2, beta)


def test_vp_sde_path_matches_the_sde_marginals():
    """The SDE's mean decay: E[x_s | x_0] = exp(-T(s)/2) x_0, so alpha_t = exp(-T(1 - t)/2)."""
    sde = diffusion.VPSDE(0.5, 8.0)
    for t in (0.0, 0.4, 0.9):
        s = 1 - t
        alpha = math.exp(-0.5 * (0.5 * s + 0.5 * 7.5 * s**2))
        coef = sde.path().scheduler(torch.tensor([t], dtype=torch.float64))
        assert coef.alpha_t.item() == pytest.approx(alpha, rel=1e-12)
        assert coef.sigma_t.item() == pytest.approx(math.sqrt(1 - alpha**2), rel=1e-12)


@pytest.mark.slow  # Monte Carlo over thousands of samples
def test_reverse_sde_sample_reaches_a_gaussian_target():
    m = torch.tensor([1.5, -1.0], dtype=torch.float64)
    s2 = 0.25
    sde = diffusion.VPSDE(BETA_MIN, BETA_MAX)
    target = analytic.gaussian_target(m, s2 * torch.eye(2, dtype=torch.float64), sde.path())
    g = torch.Generator().manual_seed(0)
    x_init = torch.randn(3000, 2, generator=g, dtype=torch.float64)
    x = diffusion.reverse_sde_sample(target.score, sde, x_init, steps=400, generator=g)
    np.testing.assert_allclose(x.mean(0).numpy(), m.numpy(), atol=0.05)
    np.testing.assert_allclose(x.var(0).numpy(), [s2, s2], rtol=0.12)
    # with the score switched off the samples stay pure noise: the test can fail
    y = diffusion.reverse_sde_sample(
        lambda x, t: torch.zeros_like(x), sde, x_init, steps=50, generator=g
    )
    assert (y.mean(0) - m).abs().max() > 0.5


def test_reverse_sde_sample_is_reproducible():
    sde = diffusion.VPSDE()
    score = lambda x, t: -x
    x_init = randn(5, seed=8, scale=1.5)
    a = diffusion.reverse_sde_sample(
        score, sde, x_init, steps=10, generator=torch.Generator().manual_seed(1)
    )
    b = diffusion.reverse_sde_sample(
        score, sde, x_init, steps=10, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(a, b)


@pytest.mark.slow  # Monte Carlo over thousands of samples
def test_probability_flow_ode_transports_noise_to_the_target():
    """Solve the PF ODE of a Gaussian target from its own t = 0 marginal: samples land on N(m, S)."""
    m = torch.tensor([1.0, -0.5], dtype=torch.float64)
    cov = torch.tensor([[0.5, 0.2], [0.2, 0.3]], dtype=torch.float64)
    sde = diffusion.VPSDE(BETA_MIN, BETA_MAX)
    target = analytic.gaussian_target(m, cov, sde.path())
    a0, s0, _, _ = affine_coefficients("vp", 0.0)
    g = torch.Generator().manual_seed(0)
    n = 4000
    c0 = torch.linalg.cholesky(a0**2 * cov + s0**2 * torch.eye(2, dtype=torch.float64))
    x_init = a0 * m + torch.randn(n, 2, generator=g, dtype=torch.float64) @ c0.T
    x = solvers.solve(
        diffusion.probability_flow_field(target.score, sde),
        x_init,
        t1=1 - 1e-4,
        method="rk4",
        steps=100,
    ).x
    np.testing.assert_allclose(x.mean(0).numpy(), m.numpy(), atol=0.04)
    np.testing.assert_allclose(torch.cov(x.T).numpy(), cov.numpy(), atol=0.04)


def test_non_affine_path_is_rejected():
    from fmlib import paths

    with pytest.raises(TypeError, match="AffinePath"):
        diffusion.score_to_velocity(
            randn(3, scale=1.5), randn(3, scale=1.5), 0.5, paths.CurvedPath()
        )


# ---------- denoising score matching and train_dsm (notebook 6.4) --------------------------------
# fmlib.diffusion for notebook 6.4: denoising score matching, its training entry point, SDE paths.


DSM_MEANS = torch.tensor([[-1.0, 0.5], [1.5, -0.5]])
DSM_VARS = torch.tensor([0.3, 0.2])


def test_dsm_loss_is_sigma_weighted_score_error_written_out():
    """sigma_t^2 ||s - grad log N(x_t; alpha x_1, sigma^2 I)||^2, the kernel's score by autograd."""
    path = paths.vp_path()
    x_0, x_1 = (
        torch.randn(64, 2, generator=generator(0)),
        torch.randn(64, 2, generator=generator(1)),
    )
    t = 0.9 * torch.rand(64, generator=generator(2))
    a, s, _, _ = path.coefficients(t, x_0)
    x_t = (a * x_1 + s * x_0).requires_grad_(True)
    log_kernel = (-0.5 * ((x_t - a * x_1) ** 2) / s**2).sum()
    kernel_score = torch.autograd.grad(log_kernel, x_t)[0]
    w = torch.tensor([[0.7, -0.2], [0.1, 1.3]])

    def score_model(x, t):
        return torch.tanh(x @ w) * (1 + t[:, None])

    expected = (s**2 * (score_model(x_t.detach(), t) - kernel_score).pow(2)).sum(1).mean()
    got = diffusion.dsm_loss(score_model, path, x_0, x_1, t)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_dsm_loss_at_the_exact_score_is_the_irreducible_constant():
    """E||sigma s* + x_0||^2 = E||x_0||^2 - E||sigma s*||^2 (the DSM/SM identity), checked by Monte Carlo.

    Both sides come from the same exact score of a Gaussian mixture; the DSM loss with the exact
    score is smaller than with any other field (here: the score scaled by 0.8 or 1.2).
    """
    path = paths.vp_path()
    target = analytic.GaussianMixture(DSM_MEANS.double(), DSM_VARS.double(), path=path)
    n, t = 20_000, 0.6
    x_1 = target.sample(n, generator(3)).double()
    x_0 = torch.randn(n, 2, generator=generator(4), dtype=torch.float64)
    tt = torch.full((n,), t, dtype=torch.float64)
    losses = {
        c: diffusion.dsm_loss(lambda x, t, c=c: c * target.score(x, t), path, x_0, x_1, tt)
        for c in (0.8, 1.0, 1.2)
    }
    assert losses[1.0] < losses[0.8] and losses[1.0] < losses[1.2]
    sigma = path.coefficients(t, x_0[:1]).sigma_t.item()
    x_t = path.sample(x_0, x_1, tt).x_t
    sigma_score = sigma * target.score(x_t, t)
    # per point: the DSM term minus its conditional expectation's closed form D - ||sigma s*||^2
    diff = (sigma_score + x_0).pow(2).sum(1) - (2.0 - sigma_score.pow(2).sum(1))
    se = diff.std().item() / math.sqrt(n)
    assert abs(diff.mean().item()) < 4 * se


def test_noise_to_score_divides_by_sigma_and_rejects_t_equal_1():
    path = paths.vp_path()
    x = torch.randn(5, 2, generator=generator(5))

    def eps(x, t):
        return 2 * x

    s = diffusion.noise_to_score(eps, path)
    sigma = path.coefficients(0.3, x).sigma_t
    torch.testing.assert_close(s(x, 0.3), -2 * x / sigma)
    with pytest.raises(ValueError, match="sigma_t = 0"):
        s(x, 1.0)
    with pytest.raises(TypeError, match="AffinePath"):
        diffusion.noise_to_score(eps, "vp")


def test_train_dsm_learns_the_exact_score_of_a_gaussian():
    """A small network trained by DSM on N(m, v I) approaches the closed-form score at mid t."""
    torch.manual_seed(0)
    m, v = torch.tensor([1.0, -0.5]), 0.25
    target = analytic.gaussian_target(
        m.double(), v * torch.eye(2, dtype=torch.float64), path=paths.vp_path()
    )
    net = models.VectorFieldMLP(hidden=64, depth=2)
    hist = diffusion.train_dsm(
        net,
        lambda n, g: m + math.sqrt(v) * torch.randn(n, 2, generator=g),
        steps=600,
        progress=False,
        seed=1,
    )
    assert hist.step[-1] == 600 and len(hist.loss) > 0
    score = diffusion.noise_to_score(net, paths.vp_path())
    x = torch.randn(500, 2, generator=generator(6))
    for t in (0.3, 0.6, 0.8):
        with torch.no_grad():
            learned = score(x, t)
        exact = target.score(x.double(), t).float()
        rel = ((learned - exact).norm(dim=1).mean() / exact.norm(dim=1).mean()).item()
        assert rel < 0.15, f"t = {t}: relative score error {rel:.3f}"


def test_train_dsm_checks_its_arguments_and_calls_back():
    net = models.VectorFieldMLP(hidden=16, depth=1)
    data = torch.randn(100, 2, generator=generator(7))
    with pytest.raises(ValueError, match="t_max"):
        diffusion.train_dsm(net, data, t_max=1.0, steps=2, progress=False)
    seen = []
    diffusion.train_dsm(
        net,
        data,
        steps=6,
        callback=lambda step, s, model: seen.append(step),
        callback_every=3,
        progress=False,
    )
    assert seen == [3, 6]


def test_reverse_sde_trajectory_matches_the_sampler_and_keeps_the_path():
    target = analytic.GaussianMixture(DSM_MEANS, DSM_VARS, path=paths.vp_path())
    sde = diffusion.VPSDE()
    x_init = torch.randn(50, 2, generator=generator(8))
    end = diffusion.reverse_sde_sample(target.score, sde, x_init, steps=40, generator=generator(9))
    run = diffusion.reverse_sde_trajectory(
        target.score, sde, x_init, steps=40, generator=generator(9), save_at=8
    )
    torch.testing.assert_close(run.x, end)
    assert run.xs.shape == (9, 50, 2) and run.ts.shape == (9,) and run.nfe == 40
    torch.testing.assert_close(run.xs[0], x_init)
    torch.testing.assert_close(run.xs[-1], end)
    assert run.ts[-1].item() == pytest.approx(1 - 1e-3)
    with pytest.raises(ValueError, match="save_at"):
        diffusion.reverse_sde_trajectory(target.score, sde, x_init, steps=40, save_at=7)


def test_reverse_sde_trajectory_samples_the_target():
    """With the exact score, Euler-Maruyama lands on the mixture: mean and covariance within 4 SE."""
    target = analytic.GaussianMixture(DSM_MEANS, DSM_VARS, path=paths.vp_path())
    n = 4000
    run = diffusion.reverse_sde_trajectory(
        target.score,
        diffusion.VPSDE(),
        torch.randn(n, 2, generator=generator(10)),
        steps=400,
        generator=generator(11),
        save_at=4,
    )
    ref = target.sample(200_000, generator(12))
    mean_err = (run.x.mean(0) - ref.mean(0)).abs()
    se = ref.std(0) / math.sqrt(n)
    assert bool((mean_err < 4 * se + 0.02).all()), (mean_err, se)
    assert abs(run.x.var(0).sum().item() - ref.var(0).sum().item()) < 0.1 * ref.var(0).sum().item()


def test_diffusion_sampler_runs_the_ode_and_the_sde_from_the_generators_noise():
    target = analytic.GaussianMixture(DSM_MEANS, DSM_VARS, path=paths.vp_path())
    sde = diffusion.VPSDE()
    ode = diffusion.diffusion_sampler(target.score, sde, method="rk4", steps=20)
    x_init = torch.randn(30, 2, generator=generator(13))
    from fmlib import solvers

    expected = solvers.solve(
        diffusion.probability_flow_field(target.score, sde),
        x_init,
        t1=1 - 1e-3,
        method="rk4",
        steps=20,
    ).x
    torch.testing.assert_close(ode(30, generator(13)), expected)
    sde_sample = diffusion.diffusion_sampler(target.score, sde, kind="sde", steps=30)
    g = generator(14)
    x_start = torch.randn(30, 2, generator=g)
    torch.testing.assert_close(
        sde_sample(30, generator(14)),
        diffusion.reverse_sde_sample(target.score, sde, x_start, 30, g),
    )
    with pytest.raises(ValueError, match="kind"):
        diffusion.diffusion_sampler(target.score, kind="langevin")


def test_probability_flow_ode_of_the_exact_score_samples_the_mixture():
    """The PF-ODE with the exact VP score (alpha_0 != 0 ignored: x_0 ~ N(0, I)) reaches p_1: W2 near the floor."""
    from fmlib import ot

    target = analytic.GaussianMixture(DSM_MEANS, DSM_VARS, path=paths.vp_path())
    sample = diffusion.diffusion_sampler(target.score, method="rk4", steps=100)
    w = ot.w2(sample(1500, generator(15)), target.sample(1500, generator(16)))
    floor = ot.w2(target.sample(1500, generator(17)), target.sample(1500, generator(18)))
    assert w < 1.5 * floor + 0.02, (w, floor)


def test_train_dsm_minimises_dsm_loss_of_the_noise_to_score_field():
    """The first logged loss of train_dsm equals dsm_loss on the same draws, replayed from the seed."""
    torch.manual_seed(0)
    net = models.VectorFieldMLP(hidden=16, depth=1)
    data = torch.randn(300, 2, generator=generator(19))
    path = paths.vp_path()
    gen = torch.Generator().manual_seed(5)  # the draws train_dsm makes in its first step
    x_1 = data[torch.randint(0, 300, (64,), generator=gen)]
    x_0 = torch.randn(64, 2, generator=gen)
    t = 0.9 * torch.rand(64, generator=gen)
    with torch.no_grad():
        expected = diffusion.dsm_loss(diffusion.noise_to_score(net, path), path, x_0, x_1, t)
    hist = diffusion.train_dsm(
        net, data, steps=1, batch_size=64, seed=5, t_max=0.9, log_every=1, progress=False
    )
    assert hist.loss[0] == pytest.approx(expected.item(), rel=1e-5)
