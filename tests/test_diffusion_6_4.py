"""fmlib.diffusion for notebook 6.4: denoising score matching, its training entry point, SDE paths."""

from __future__ import annotations

import math

import pytest
import torch

from fmlib import analytic, diffusion, models, paths

MEANS = torch.tensor([[-1.0, 0.5], [1.5, -0.5]])
VARS = torch.tensor([0.3, 0.2])


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_dsm_loss_is_sigma_weighted_score_error_written_out():
    """sigma_t^2 ||s - grad log N(x_t; alpha x_1, sigma^2 I)||^2, the kernel's score by autograd."""
    path = paths.vp_path()
    x_0, x_1 = torch.randn(64, 2, generator=_gen(0)), torch.randn(64, 2, generator=_gen(1))
    t = 0.9 * torch.rand(64, generator=_gen(2))
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
    target = analytic.GaussianMixture(MEANS.double(), VARS.double(), path=path)
    n, t = 20_000, 0.6
    x_1 = target.sample(n, _gen(3)).double()
    x_0 = torch.randn(n, 2, generator=_gen(4), dtype=torch.float64)
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
    x = torch.randn(5, 2, generator=_gen(5))

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
    x = torch.randn(500, 2, generator=_gen(6))
    for t in (0.3, 0.6, 0.8):
        with torch.no_grad():
            learned = score(x, t)
        exact = target.score(x.double(), t).float()
        rel = ((learned - exact).norm(dim=1).mean() / exact.norm(dim=1).mean()).item()
        assert rel < 0.15, f"t = {t}: relative score error {rel:.3f}"


def test_train_dsm_checks_its_arguments_and_calls_back():
    net = models.VectorFieldMLP(hidden=16, depth=1)
    data = torch.randn(100, 2, generator=_gen(7))
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
    target = analytic.GaussianMixture(MEANS, VARS, path=paths.vp_path())
    sde = diffusion.VPSDE()
    x_init = torch.randn(50, 2, generator=_gen(8))
    end = diffusion.reverse_sde_sample(target.score, sde, x_init, steps=40, generator=_gen(9))
    run = diffusion.reverse_sde_trajectory(
        target.score, sde, x_init, steps=40, generator=_gen(9), save_at=8
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
    target = analytic.GaussianMixture(MEANS, VARS, path=paths.vp_path())
    n = 4000
    run = diffusion.reverse_sde_trajectory(
        target.score,
        diffusion.VPSDE(),
        torch.randn(n, 2, generator=_gen(10)),
        steps=400,
        generator=_gen(11),
        save_at=4,
    )
    ref = target.sample(200_000, _gen(12))
    mean_err = (run.x.mean(0) - ref.mean(0)).abs()
    se = ref.std(0) / math.sqrt(n)
    assert bool((mean_err < 4 * se + 0.02).all()), (mean_err, se)
    assert abs(run.x.var(0).sum().item() - ref.var(0).sum().item()) < 0.1 * ref.var(0).sum().item()


def test_diffusion_sampler_runs_the_ode_and_the_sde_from_the_generators_noise():
    target = analytic.GaussianMixture(MEANS, VARS, path=paths.vp_path())
    sde = diffusion.VPSDE()
    ode = diffusion.diffusion_sampler(target.score, sde, method="rk4", steps=20)
    x_init = torch.randn(30, 2, generator=_gen(13))
    from fmlib import solvers

    expected = solvers.solve(
        diffusion.probability_flow_field(target.score, sde),
        x_init,
        t1=1 - 1e-3,
        method="rk4",
        steps=20,
    ).x
    torch.testing.assert_close(ode(30, _gen(13)), expected)
    sde_sample = diffusion.diffusion_sampler(target.score, sde, kind="sde", steps=30)
    g = _gen(14)
    x_start = torch.randn(30, 2, generator=g)
    torch.testing.assert_close(
        sde_sample(30, _gen(14)), diffusion.reverse_sde_sample(target.score, sde, x_start, 30, g)
    )
    with pytest.raises(ValueError, match="kind"):
        diffusion.diffusion_sampler(target.score, kind="langevin")


def test_probability_flow_ode_of_the_exact_score_samples_the_mixture():
    """The PF-ODE with the exact VP score (alpha_0 != 0 ignored: x_0 ~ N(0, I)) reaches p_1: W2 near the floor."""
    from fmlib import ot

    target = analytic.GaussianMixture(MEANS, VARS, path=paths.vp_path())
    sample = diffusion.diffusion_sampler(target.score, method="rk4", steps=100)
    w = ot.w2(sample(1500, _gen(15)), target.sample(1500, _gen(16)))
    floor = ot.w2(target.sample(1500, _gen(17)), target.sample(1500, _gen(18)))
    assert w < 1.5 * floor + 0.02, (w, floor)


def test_train_dsm_minimises_dsm_loss_of_the_noise_to_score_field():
    """The first logged loss of train_dsm equals dsm_loss on the same draws, replayed from the seed."""
    torch.manual_seed(0)
    net = models.VectorFieldMLP(hidden=16, depth=1)
    data = torch.randn(300, 2, generator=_gen(19))
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
