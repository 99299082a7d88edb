"""The capstone's check: two different one-step designs pass, independent CFM and broken models
fail with a hint that says what was measured."""

from __future__ import annotations

import pytest
import torch

import fmlib as fm
from fmlib import checks


def ot_cfm(data, steps, seed):
    """One design: minibatch OT-CFM (blocks of 64), fmlib's trainer."""
    torch.manual_seed(seed)
    model = fm.VectorFieldMLP()
    fm.train_cfm(model, data, coupling="ot", steps=steps, seed=seed, progress=False)
    return model


def full_batch_ot_cfm(data, steps, seed):
    """A different design: a hand-written loop, exact OT on the whole batch of 128 (no blocks)."""
    torch.manual_seed(seed)
    model = fm.VectorFieldMLP()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(seed)
    path = fm.linear_path()
    for _ in range(steps):
        x_1 = data[torch.randint(0, data.shape[0], (128,), generator=g)]
        x_0 = fm.couplings.ot_pairing(torch.randn(128, 2, generator=g), x_1).x_0
        t = torch.rand(128, generator=g)
        loss = fm.training.cfm_loss(model, path, x_0, x_1, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def independent_cfm(data, steps, seed):
    torch.manual_seed(seed)
    model = fm.VectorFieldMLP()
    fm.train_cfm(model, data, coupling="independent", steps=steps, seed=seed, progress=False)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("design, seeds", [(ot_cfm, (0, 1)), (full_batch_ot_cfm, (0,))])
def test_two_different_one_step_designs_pass(design, seeds):
    for seed in seeds:
        result = checks.check_one_step_sampler(design, seed=seed, quiet=True)
        assert result, result.message


def even_spread(data, steps, seed):
    """Every noise point sent to a uniform point of the board: W2 passes, the squares do not."""

    def v(x, t):
        g = torch.Generator().manual_seed(seed)
        return 4 * torch.rand(x.shape, generator=g) - 2 - x

    return v


WRONG = [
    pytest.param(independent_cfm, "aim for W2 at most 0.4", marks=pytest.mark.slow),
    (even_spread, "on dark squares"),
    (lambda data, steps, seed: None, "returned None"),
    (lambda data, steps, seed: fm.VectorFieldMLP().state_dict(), "expected a model"),
    (lambda data, steps, seed: lambda x, t: x[:, :1], "velocities of shape"),
    (lambda data, steps, seed: lambda x, t: x / 0, "NaN or inf"),
]


@pytest.mark.parametrize("answer, hint", WRONG, ids=lambda x: x if isinstance(x, str) else "")
def test_bad_one_step_models_fail_with_the_right_hint(answer, hint):
    result = checks.check_one_step_sampler(answer, seed=0, quiet=True)
    assert not result and hint in result.message, result.message


def test_the_measure_against_closed_forms():
    """The zero field leaves the noise where it is: W2 between N(0, I) and the checkerboard,
    far above the floor; the floor of two fresh samples is small."""
    g = torch.Generator().manual_seed(0)
    w2, floor, dark = fm.checks.capstone.one_step_w2(lambda x, t: torch.zeros_like(x), g)
    assert floor < 0.3 < 0.5 < w2


def test_dark_share_against_closed_forms():
    """fmlib's checkerboard lies on dark squares; an even spread over the board has half its
    points there (within 4.5 standard errors of a binomial share)."""
    from fmlib.checks.capstone import dark_share

    g = torch.Generator().manual_seed(0)
    assert dark_share(fm.data.checkerboard(5000, g)) == 1.0
    n = 20_000
    share = dark_share(4 * torch.rand(n, 2, generator=g) - 2)
    assert abs(share - 0.5) < 4.5 * (0.25 / n) ** 0.5
    assert dark_share(torch.full((10, 2), 3.0)) == 0.0  # off the board
