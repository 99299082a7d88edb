"""fmlib.cache: FMLIB_CACHE saves a training call's weights and history, and loads them back."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

import fmlib as fm
from fmlib import cache


class Calls:
    """A stand-in training function: moves the weights by a seeded step and counts its calls."""

    def __init__(self):
        self.count = 0

    def __call__(self, model, data, *, steps=3, seed=0, callback=None, time_budget_s=None,
                 progress=True):  # fmt: skip
        self.count += 1
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(steps * torch.randn(p.shape, generator=g))
        return {"loss": [float(steps + seed)]}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(2, 2)


def test_a_second_identical_call_loads_instead_of_training(folder):
    fake = Calls()
    train = cache.cached(fake)
    data = torch.arange(6.0).reshape(3, 2)
    first, second = _model(), _model()
    h1 = train(first, data, steps=3)
    h2 = train(second, data, steps=3)
    assert fake.count == 1, "the second call trained again"
    assert h1 == h2
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not second.training  # as after training
    assert len(list(folder.glob("*.pt"))) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"steps": 4},
        {"seed": 1},
        {"data": torch.arange(6.0).reshape(3, 2) + 1e-6},
        {"model": 1},  # other initial weights
    ],
    ids=["steps", "seed", "data", "initial-weights"],
)
def test_any_changed_input_trains_again(folder, change):
    fake = Calls()
    train = cache.cached(fake)
    base = {"steps": 3, "seed": 0, "data": torch.arange(6.0).reshape(3, 2), "model": 0}
    train(_model(base["model"]), base["data"], steps=base["steps"], seed=base["seed"])
    new = {**base, **change}
    train(_model(new["model"]), new["data"], steps=new["steps"], seed=new["seed"])
    assert fake.count == 2


@pytest.mark.parametrize(
    "kwargs",
    [{"callback": print}, {"time_budget_s": 1.0}],
    ids=["callback", "time-budget"],
)
def test_calls_that_loading_cannot_reproduce_train_live(folder, kwargs):
    fake = Calls()
    train = cache.cached(fake)
    data = torch.zeros(3, 2)
    train(_model(), data, **kwargs)
    train(_model(), data, **kwargs)
    assert fake.count == 2 and not folder.exists()


def test_an_input_known_only_by_its_address_trains_live(folder):
    fake = Calls()
    train = cache.cached(fake)
    sampler = lambda n, generator: torch.zeros(n, 2)  # noqa: E731 (repr is an address)
    train(_model(), sampler)
    train(_model(), sampler)
    assert fake.count == 2


def test_without_the_variable_nothing_is_saved(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    fake = Calls()
    train = cache.cached(fake)
    train(_model(), torch.zeros(3, 2))
    train(_model(), torch.zeros(3, 2))
    assert fake.count == 2 and cache.folder() is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_cache_is_read_not_written(folder):
    folder.mkdir()
    folder.chmod(0o555)
    try:
        fake = Calls()
        train = cache.cached(fake)
        assert train(_model(), torch.zeros(3, 2)) == {"loss": [3.0]}
        assert fake.count == 1 and not list(folder.glob("*"))
    finally:
        folder.chmod(0o755)


def test_train_cfm_from_the_cache_gives_the_same_model_and_history(folder):
    x_1 = fm.data.two_moons(256)
    x_1 = x_1[0] if isinstance(x_1, tuple) else x_1
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = fm.models.VectorFieldMLP(dim=2)
        history = fm.training.train_cfm(model, x_1, steps=60, log_every=20, progress=False)
        runs.append((model, history))
    (m1, h1), (m2, h2) = runs
    assert list(folder.glob("train_cfm-*.pt")), "train_cfm is not cached"
    assert h1.loss == h2.loss and h1.step == h2.step
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(m1(x, 0.3), m2(x, 0.3), rtol=0, atol=0)


def test_options_passed_through_a_keyword_catch_all_count_too(folder):
    calls = []

    def train(model, data, **options):
        calls.append(options)
        return {"loss": [0.0]}

    train = cache.cached(train)
    data = torch.zeros(3, 2)
    train(_model(), data, steps=3)
    train(_model(), data, steps=4)  # another option: another key
    train(_model(), data, steps=3, callback=print)  # a callback inside **options: live
    train(_model(), data, steps=3)  # the first call again: loaded
    assert [c.get("steps") for c in calls] == [3, 4, 3]
