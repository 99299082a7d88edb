"""fmlib.training: the CFM loss, CFM training and maximum-likelihood CNF training."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import AFFINE_PATHS, affine_coefficients, randn

import fmlib as fm
from fmlib import data, likelihood, models, training


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return models.VectorFieldMLP(**{"hidden": 32, "depth": 2, **kw})


def _heldout(n=4096, seed=123):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), data.two_moons(n, g), torch.rand(n, generator=g)


def _cfm_by_hand(model, x_0, x_1, t, alpha_t, sigma_t, d_alpha_t, d_sigma_t):
    """mean_b || v(x_t, t) - u_t ||^2 with x_t = alpha_t x_1 + sigma_t x_0, u_t = d_alpha_t x_1 +
    d_sigma_t x_0 (the coefficients per row)."""
    x_t = alpha_t[:, None] * x_1 + sigma_t[:, None] * x_0
    u_t = d_alpha_t[:, None] * x_1 + d_sigma_t[:, None] * x_0
    return ((model(x_t, t) - u_t) ** 2).sum(dim=1).mean()


def _coefs(path_name, t):
    rows = [affine_coefficients(path_name, float(ti)) for ti in t]
    return [torch.tensor([r[k] for r in rows], dtype=torch.float32) for k in range(4)]


@pytest.mark.parametrize("path_name", ["linear", "linear-smin0.1", "cosine", "vp"])
def test_cfm_loss_equals_the_formula(path_name):
    model = _model()
    x_0, x_1, t = _heldout(64)
    t = t * 0.95  # keep the VP path's velocity finite
    with torch.no_grad():
        ours = training.cfm_loss(model, AFFINE_PATHS[path_name](), x_0, x_1, t)
        ref = _cfm_by_hand(model, x_0, x_1, t, *_coefs(path_name, t))
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_cfm_loss_with_labels_and_a_callable_model():
    model = _model(num_classes=2)
    x_0, x_1, t = _heldout(32)
    y = torch.randint(0, 3, (32,))
    with torch.no_grad():
        ours = training.cfm_loss(model, AFFINE_PATHS["linear"](), x_0, x_1, t, y)
        x_t = (1 - t[:, None]) * x_0 + t[:, None] * x_1
        ref = ((model(x_t, t, y) - (x_1 - x_0)) ** 2).sum(1).mean()
    torch.testing.assert_close(ours, ref)
    # a plain function works as the model too; the exact conditional velocity gives zero loss
    zero = training.cfm_loss(lambda x, t: x_1 - x_0, AFFINE_PATHS["linear"](), x_0, x_1, t)
    assert zero.item() == 0.0


def test_short_cfm_run_lowers_the_loss():
    model = _model()
    x_0, x_1, t = _heldout()
    a, s, da, ds = _coefs("linear", t)
    with torch.no_grad():
        before = _cfm_by_hand(model, x_0, x_1, t, a, s, da, ds).item()
    hist = training.train_cfm(
        model, data.two_moons, steps=300, batch_size=128, log_every=1, progress=False
    )
    with torch.no_grad():
        after = _cfm_by_hand(model, x_0, x_1, t, a, s, da, ds).item()
    # an untrained (near-zero) field scores E|x_1 - x_0|^2 = 4; the two-moons CFM floor is near 3
    assert after < before - 0.3, (before, after)
    assert hist.step == list(range(1, 301)) and len(hist.loss) == len(hist.time_s) == 300
    first, last = sum(hist.loss[:10]) / 10, sum(hist.loss[-50:]) / 50
    assert last < first - 0.3, (first, last)
    assert not hist.stopped_early
    assert not model.training  # handed back in eval mode


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("coupling", ["independent", "ot"])
def test_same_seed_gives_bit_identical_models(coupling):
    runs = []
    for _ in range(2):
        model = _model(seed=3)
        hist = training.train_cfm(
            model,
            data.two_moons,
            steps=40,
            batch_size=64,
            seed=7,
            coupling=coupling,
            ot_block_size=32,
            log_every=10,
            progress=False,
        )
        runs.append((_params(model), hist.loss))
    assert all(torch.equal(a, b) for a, b in zip(runs[0][0], runs[1][0], strict=True))
    assert runs[0][1] == runs[1][1]
    other = _model(seed=3)
    training.train_cfm(
        other,
        data.two_moons,
        steps=40,
        batch_size=64,
        seed=8,
        coupling=coupling,
        ot_block_size=32,
        progress=False,
    )
    assert not all(torch.equal(a, b) for a, b in zip(runs[0][0], _params(other), strict=True))


def test_ot_coupling_run():
    model = _model()
    hist = training.train_cfm(
        model,
        data.two_moons,
        coupling="ot",
        ot_block_size=32,
        steps=20,
        batch_size=64,
        log_every=5,
        progress=False,
    )
    assert len(hist.loss) == 4 and all(torch.isfinite(torch.tensor(hist.loss)))


@pytest.mark.parametrize("p_uncond", [0.0, 0.5])
def test_labels_and_p_uncond(p_uncond):
    """The null-class embedding is trained only when labels are dropped (p_uncond > 0)."""
    sample = data.two_moons(512, torch.Generator().manual_seed(0), labels=True)
    model = _model(num_classes=2)
    null_before = model.class_embed.weight[model.null_class].detach().clone()
    class_before = model.class_embed.weight[0].detach().clone()
    training.train_cfm(
        model, sample.x, labels=sample.y, p_uncond=p_uncond, steps=20, batch_size=64, progress=False
    )
    assert not torch.equal(model.class_embed.weight[0].detach(), class_before)
    null_changed = not torch.equal(model.class_embed.weight[model.null_class].detach(), null_before)
    assert null_changed == (p_uncond > 0)


def test_training_argument_errors():
    x = data.two_moons(64, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="labels"):
        training.train_cfm(
            _model(), x, labels=torch.zeros(64, dtype=torch.long), steps=1, progress=False
        )
    with pytest.raises(ValueError, match="labels"):
        training.train_cfm(
            _model(num_classes=2),
            x,
            labels=torch.zeros(10, dtype=torch.long),
            steps=1,
            progress=False,
        )
    with pytest.raises(ValueError, match="coupling"):
        training.train_cfm(_model(), x, coupling="sinkhorn", steps=1, progress=False)
    with pytest.raises(ValueError, match="p_uncond"):
        training.train_cfm(_model(), x, p_uncond=1.0, steps=1, progress=False)
    with pytest.raises(ValueError, match="lr"):
        training.train_cfm(_model(), x, lr=0.0, steps=1, progress=False)
    with pytest.raises(ValueError, match="steps"):
        training.train_cfm(_model(), x, steps=0, progress=False)


def test_logging_and_callbacks():
    calls = []
    hist = training.train_cfm(
        _model(),
        data.two_moons,
        steps=25,
        batch_size=32,
        log_every=10,
        callback_every=10,
        callback=lambda step, clock, model: calls.append((step, model.training)),
        progress=False,
    )
    assert hist.step == [10, 20, 25]
    assert calls == [(10, False), (20, False)]  # the callback sees the model in eval mode
    assert hist.time_s == sorted(hist.time_s) and hist.wall_time == hist.time_s[-1]


class _FakeClock:
    """A perf_counter that advances ``tick`` seconds per call: time budgets tested without a wall clock."""

    def __init__(self, tick: float = 0.1):
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_time_budget_stops_early(monkeypatch):
    # The loop reads the clock once before the first step and once after each step, so with a
    # 0.1 s tick the training clock reads 0.1 s x step: a 0.35 s budget stops after step 4. The
    # step count is bounded (50): a broken budget ends the test in well under a second.
    monkeypatch.setattr(training.time, "perf_counter", _FakeClock(0.1))
    hist = training.train_cfm(
        _model(),
        data.two_moons,
        steps=50,
        batch_size=16,
        time_budget_s=0.35,
        log_every=2,
        progress=False,
    )
    assert hist.stopped_early
    assert hist.step == [2, 4] and hist.wall_time == pytest.approx(0.4)


def test_time_budget_is_not_spent_by_callbacks(monkeypatch):
    """Callbacks (evaluations) are excluded from the budget: the clock restarts after each one."""
    clock = _FakeClock(0.1)
    monkeypatch.setattr(training.time, "perf_counter", clock)
    calls = []

    def slow_callback(step, elapsed, model):
        calls.append(elapsed)
        clock.now += 100.0  # an evaluation that "takes" 100 s

    hist = training.train_cfm(
        _model(),
        data.two_moons,
        steps=6,
        batch_size=16,
        time_budget_s=10.0,
        log_every=1,
        callback=slow_callback,
        callback_every=2,
        progress=False,
    )
    assert not hist.stopped_early and hist.step[-1] == 6
    assert calls == pytest.approx([0.2, 0.4, 0.6])


def test_cnf_mle_lowers_the_negative_log_likelihood():
    target = lambda n, g: torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([1.5, 0.0])
    heldout = target(512, torch.Generator().manual_seed(99))
    model = _model(hidden=16)

    def nll():
        with torch.no_grad():
            return -likelihood.log_prob(model, heldout, method="rk4", steps=8).mean().item()

    before = nll()
    hist = training.train_cnf_mle(
        model, target, steps=30, batch_size=64, lr=1e-2, ode_steps=4, log_every=5, progress=False
    )
    after = nll()
    assert after < before - 0.3, (before, after)
    assert hist.loss[-1] < hist.loss[0]
    assert hist.step == [5, 10, 15, 20, 25, 30]


def test_cnf_mle_time_budget(monkeypatch):
    monkeypatch.setattr(training.time, "perf_counter", _FakeClock(0.1))
    hist = training.train_cnf_mle(
        _model(hidden=8),
        data.two_moons,
        steps=20,
        batch_size=16,
        ode_steps=2,
        time_budget_s=0.25,
        progress=False,
    )
    assert hist.stopped_early and hist.step[-1] == 3


# --- every option of train_cfm is used (issue #7) -------------------------------------------------


def _run(model, steps, **kw):
    kw = {"batch_size": 32, "seed": 5, "progress": False, **kw}
    training.train_cfm(model, data.two_moons, steps=steps, **kw)
    return _params(model)


@pytest.mark.parametrize("decay", [0.9, 0.5])
def test_ema_weights_equal_the_average_computed_by_hand(decay):
    """With a constant learning rate, a 1-step run is the first step of a 2-step run (same seed,
    same Adam state), so the raw iterates theta_1, theta_2 are known and the EMA must return
    decay^2 theta_0 + decay (1 - decay) theta_1 + (1 - decay) theta_2."""
    kw = {"lr_schedule": "constant"}
    theta_0 = _params(_model(seed=4))
    theta_1 = _run(_model(seed=4), 1, ema_decay=None, **kw)
    theta_2 = _run(_model(seed=4), 2, ema_decay=None, **kw)
    ema = _run(_model(seed=4), 2, ema_decay=decay, **kw)
    for p0, p1, p2, e in zip(theta_0, theta_1, theta_2, ema, strict=True):
        by_hand = decay**2 * p0 + decay * (1 - decay) * p1 + (1 - decay) * p2
        torch.testing.assert_close(e, by_hand, rtol=1e-5, atol=1e-7)
    assert not all(torch.equal(a, b) for a, b in zip(ema, theta_2, strict=True))


def test_callback_sees_the_ema_weights_and_training_resumes_from_the_raw_ones():
    seen = []
    kw = {"lr_schedule": "constant", "ema_decay": 0.8}
    ema_after_1 = _run(_model(seed=4), 1, **kw)
    raw = _run(_model(seed=4), 2, **{**kw, "ema_decay": None})
    final = _run(
        _model(seed=4), 2, callback=lambda s, c, m: seen.append(_params(m)), callback_every=1, **kw
    )
    for a, b in zip(seen[0], ema_after_1, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    theta_0 = _params(_model(seed=4))
    theta_1 = _run(_model(seed=4), 1, **{**kw, "ema_decay": None})
    for p0, p1, p2, e in zip(theta_0, theta_1, raw, final, strict=True):
        torch.testing.assert_close(e, 0.64 * p0 + 0.16 * p1 + 0.2 * p2, rtol=1e-5, atol=1e-7)


def test_lr_schedule_is_used(monkeypatch):
    """The learning rate Adam steps with: cosine from lr to lr / 100, or constant."""
    lrs = []
    step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        lrs.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    n, lr = 8, 1e-2
    _run(_model(), n, lr=lr, lr_schedule="cosine")
    cosine = [lr / 100 + (lr - lr / 100) * (1 + math.cos(math.pi * k / n)) / 2 for k in range(n)]
    assert lrs == pytest.approx(cosine, rel=1e-9)
    lrs.clear()
    _run(_model(), n, lr=lr, lr_schedule="constant")
    assert lrs == pytest.approx([lr] * n, rel=1e-12)
    with pytest.raises(ValueError, match="lr_schedule"):
        _run(_model(), 1, lr_schedule="linear")


def test_path_is_used():
    """A path object given to train_cfm draws every training pair: (x_0, x_1, t) per step."""
    calls = []
    base = AFFINE_PATHS["cosine"]()

    class Spy:
        def sample(self, x_0, x_1, t):
            calls.append((x_0.shape, x_1.shape, t.shape))
            return base.sample(x_0, x_1, t)

    _run(_model(), 3, path=Spy())
    assert calls == [(torch.Size([32, 2]), torch.Size([32, 2]), torch.Size([32]))] * 3
    linear = _run(_model(), 3)
    cosine = _run(_model(), 3, path=base)
    assert not all(torch.equal(a, b) for a, b in zip(linear, cosine, strict=True))


def test_source_is_used():
    """x_0 comes from ``source``: a spy records the draws; a shifted source changes the result."""
    calls = []

    class Shifted(data.StandardGaussian):
        def sample(self, n, generator=None):
            calls.append(n)
            return super().sample(n, generator) + 3.0

    shifted = _run(_model(), 3, source=Shifted(2))
    assert calls == [32, 32, 32]
    default = _run(_model(), 3)
    assert not all(torch.equal(a, b) for a, b in zip(shifted, default, strict=True))
    same = _run(_model(), 3, source=data.StandardGaussian(2))
    assert all(torch.equal(a, b) for a, b in zip(same, default, strict=True))


def test_ot_coupling_pairs_every_batch(monkeypatch):
    """coupling="ot" calls the minibatch OT pairing on each batch, with ot_block_size."""
    calls = []
    pairing = training.ot_pairing

    def spy(x_0, x_1, y=None, block_size=None):
        calls.append((x_0.shape[0], block_size))
        return pairing(x_0, x_1, y, block_size=block_size)

    monkeypatch.setattr(training, "ot_pairing", spy)
    _run(_model(), 3, coupling="ot", ot_block_size=16)
    assert calls == [(32, 16)] * 3
    calls.clear()
    _run(_model(), 3)
    assert calls == []  # the independent coupling never pairs


def test_the_model_is_checked_where_it_is_handed_in():
    x = data.two_moons(64, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match=r"\bmodel must be a torch.nn.Module"):
        training.train_cfm(lambda x, t: -x, x, steps=1, progress=False)
    x_0, x_1, t = _heldout(8)
    with pytest.raises(TypeError, match=r"\bmodel must be a vector field"):
        training.cfm_loss("not a field", AFFINE_PATHS["linear"](), x_0, x_1, t)


# ---------- train_cnf_mle with CFM's recipe ------------------------------------------------------
# train_cnf_mle takes CFM's recipe (weight averaging, learning-rate schedule) for a like-for-like race.


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


# ---------- options reach the step: labels, p_uncond, the divergence of maximum likelihood -------


class _Recorder(torch.nn.Module):
    """A class-conditional field v = w x_t that records every (x_t, y) it is called with."""

    dim, num_classes, null_class = 2, 2, 2

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.seen = []

    def forward(self, x, t, y=None):
        self.seen.append((x.detach().clone(), y.clone()))
        return self.w * x


class _AtTheData:
    """A path whose x_t is x_1 itself, so that the model sees the data point its label belongs to."""

    def sample(self, x_0, x_1, t):
        return fm.PathSample(x_0, x_1, t, x_1, x_1 - x_0)


def _labelled_points(n=400):
    x = randn(n, 2, seed=9, dtype=torch.float32)
    return x, (x[:, 0] > 0).long()  # the label is the side of the point: it can be checked


def test_labels_stay_with_their_points():
    x, labels = _labelled_points()
    model = _Recorder()
    training.train_cfm(model, x, labels=labels, path=_AtTheData(), steps=3, batch_size=64,
                       ema_decay=None, progress=False)  # fmt: skip
    for x_t, y in model.seen:
        assert torch.equal(y, (x_t[:, 0] > 0).long()), "labels were drawn apart from their points"


def test_p_uncond_is_the_probability_of_the_null_class():
    x, labels = _labelled_points()
    model, p_uncond = _Recorder(), 0.2
    training.train_cfm(model, x, labels=labels, p_uncond=p_uncond, path=_AtTheData(), steps=10,
                       batch_size=256, ema_decay=None, progress=False)  # fmt: skip
    y = torch.cat([y for _, y in model.seen])
    x_t = torch.cat([x_t for x_t, _ in model.seen])
    dropped = y == model.null_class
    se = math.sqrt(p_uncond * (1 - p_uncond) / len(y))
    assert abs(float(dropped.float().mean()) - p_uncond) < 5 * se, float(dropped.float().mean())
    assert torch.equal(y[~dropped], (x_t[~dropped, 0] > 0).long())


@pytest.mark.parametrize("divergence", ["exact", "hutchinson"])
def test_cnf_mle_loss_is_the_negative_log_likelihood_with_the_given_divergence(divergence):
    """The first logged loss (before any update) is -mean log p of the first batch, computed here
    with likelihood.log_prob from the same draws: the solver, its steps and the divergence arrive."""
    model, x_data = _setup()
    start = _flat(model)
    kwargs = dict(method="heun", ode_steps=3, divergence=divergence)
    hist = fm.train_cnf_mle(model, x_data, steps=1, batch_size=16, seed=4, log_every=1,
                            progress=False, **kwargs)  # fmt: skip
    reference_model, _ = _setup()
    assert torch.equal(_flat(reference_model), start)
    g = torch.Generator().manual_seed(4)
    x_1 = x_data[torch.randint(0, x_data.shape[0], (16,), generator=g)]
    nll = {
        d: -float(likelihood.log_prob(reference_model, x_1, method="heun", steps=3, divergence=d,
                                      generator=torch.Generator().set_state(g.get_state())).mean())
        for d in ("exact", "hutchinson")
    }  # fmt: skip
    assert abs(nll["exact"] - nll["hutchinson"]) > 1e-4  # the test can tell the two apart
    assert hist.loss[0] == pytest.approx(nll[divergence], rel=1e-6, abs=0)
