"""train_cnf_mle takes CFM's recipe (weight averaging, learning-rate schedule) for a like-for-like race."""

import pytest
import torch

import fmlib as fm


def _setup():
    torch.manual_seed(0)
    model = fm.VectorFieldMLP(hidden=16, depth=2)
    data = fm.two_moons(64, torch.Generator().manual_seed(1))
    return model, data


def _flat(model):
    return torch.cat([p.detach().flatten().clone() for p in model.parameters()])


def test_mle_ema_is_the_average_of_the_raw_trajectory():
    decay, steps = 0.6, 4
    kwargs = dict(steps=steps, batch_size=32, ode_steps=2, seed=3, progress=False)
    model, data = _setup()
    raw = [_flat(model)]  # without EMA the callback sees the raw weights after each step
    fm.train_cnf_mle(
        model, data, callback=lambda s, c, m: raw.append(_flat(m)), callback_every=1, **kwargs
    )
    shadow = raw[0]
    for p in raw[1:]:  # the referee: the EMA recursion, written out
        shadow = decay * shadow + (1 - decay) * p
    averaged, data = _setup()
    fm.train_cnf_mle(averaged, data, ema_decay=decay, **kwargs)
    torch.testing.assert_close(_flat(averaged), shadow, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(shadow, raw[-1])  # the test could see a missing average


def test_mle_lr_schedule_is_used_and_checked():
    kwargs = dict(steps=3, batch_size=32, ode_steps=2, seed=3, progress=False)
    results = {}
    for schedule in ("cosine", "constant"):
        model, data = _setup()
        fm.train_cnf_mle(model, data, lr_schedule=schedule, **kwargs)
        results[schedule] = _flat(model)
    assert not torch.allclose(results["cosine"], results["constant"])
    model, data = _setup()
    with pytest.raises(ValueError, match="lr_schedule"):
        fm.train_cnf_mle(model, data, lr_schedule="linear", **kwargs)
    with pytest.raises(ValueError, match="ema_decay"):
        fm.train_cnf_mle(model, data, ema_decay=1.5, **kwargs)
