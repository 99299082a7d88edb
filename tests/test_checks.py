"""fmlib.checks: right answers (written differently from the solutions) pass; each deliberately
wrong answer (wrong sign, transposed, constant, input, off by a factor, NaN, not implemented,
crashing) is rejected with the right hint, and no check ever raises."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import torch

from fmlib import checks
from fmlib.checks import exercise_6_2 as cx


def _replay(result) -> str:
    """A failed check's message with the seed that replays its cases (unseeded checks draw one)."""
    return f"{result.message} (replay: seed={result.seed})"


def _hint(result) -> str:
    assert not result, f"a wrong answer passed: {_replay(result)}"
    return result.message


# ---- right answers, written differently from solutions/ ----------------------------------


def divergence_loop(v, x, t):
    x = x.detach().requires_grad_(True)
    out = v(x, t)
    return sum(
        torch.autograd.grad(out[:, i].sum(), x, retain_graph=True)[0][:, i]
        for i in range(x.shape[1])
    )


def divergence_jacobian(v, x, t):
    jac = torch.func.vmap(torch.func.jacrev(lambda r: v(r[None], t)[0]))(x)
    return jac.diagonal(dim1=1, dim2=2).sum(1)


def hutchinson_vjp(v, x, t, eps):
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(v(x, t), x, eps)
    return (grad * eps).sum(1)


def kinetic_numpy(xs, ts):
    xs, ts = xs.numpy(), ts.numpy()
    return float(
        sum(
            np.mean(np.sum((xs[k + 1] - xs[k]) ** 2, 1)) / (ts[k + 1] - ts[k])
            for k in range(len(ts) - 1)
        )
    )


def pairing_scipy(x_0, x_1):
    rows, cols = scipy.optimize.linear_sum_assignment(torch.cdist(x_1, x_0).pow(2).numpy())
    return torch.as_tensor(cols)[np.argsort(rows)]


def marginal_velocity(x, t, points):
    logits = -((x[:, None] - t * points[None]) ** 2).sum(-1) / (2 * (1 - t) ** 2)
    w = torch.softmax(logits, 1)
    return (w[..., None] * (points[None] - x[:, None])).sum(1) / (1 - t)


def posterior(x, t, points):
    return torch.softmax(-torch.cdist(x, t * points).pow(2) / (2 * (1 - t) ** 2), dim=1)


def score_to_velocity(score, x, a, s, da, ds):
    return da / a * x + s * (da * s / a - ds) * score


def velocity_to_score(u, x, a, s, da, ds):
    return a * (u - da / a * x) / (s * (da * s - ds * a))


def heun(v, x, t, dt):
    k_1 = v(x, t)
    return x + dt / 2 * k_1 + dt / 2 * v(x + dt * k_1, t + dt)


def guided(v_u, v_c, w):
    return (1 - w) * v_u + w * v_c


def embedding_interleaved(t, dim, max_freq):
    k = torch.arange(dim // 2, dtype=torch.float64)
    w = max_freq ** (k / (dim // 2 - 1))
    out = torch.empty(t.shape[0], dim, dtype=torch.float64)
    out[:, 0::2], out[:, 1::2] = torch.sin(t[:, None] * w), torch.cos(t[:, None] * w)
    return out


def cfm_loss_coordinate_mean(model, x_0, x_1, t, path=None):
    if path is None:
        x_t, u_t = x_0 + t[:, None] * (x_1 - x_0), x_1 - x_0
    else:
        x_t, u_t = path(x_0, x_1, t)
    return torch.nn.functional.mse_loss(model(x_t, t), u_t)


def euler(v, x_0, steps):
    x = x_0
    for k in range(steps):
        x = x + v(x, k / steps) / steps
    return x


def bent(a, outward=False):
    """The chapter's t(1 - t) n_perp path with bend a (outward: the sign chosen per pair)."""

    def path(x_0, x_1, t):
        d = x_1 - x_0
        n = torch.stack([-d[:, 1], d[:, 0]], 1) / torch.linalg.vector_norm(d, dim=1, keepdim=True)
        if outward:  # bend away from the origin
            n = n * torch.sign((n * (x_0 + x_1)).sum(1, keepdim=True))
        x_t = x_0 + t[:, None] * d + a * (t * (1 - t))[:, None] * n
        return x_t, d + a * (1 - 2 * t)[:, None] * n

    return path


def retimed(x_0, x_1, t):
    """The straight segment run fast early: s(t) = sin(pi t / 2)."""
    s = torch.sin(torch.pi * t / 2)
    return x_0 + s[:, None] * (x_1 - x_0), (torch.pi / 2 * torch.cos(torch.pi * t / 2))[:, None] * (
        x_1 - x_0
    )


RIGHT = [
    (checks.check_divergence, divergence_loop),
    (checks.check_divergence, divergence_jacobian),
    (checks.check_hutchinson, hutchinson_vjp),
    (checks.check_kinetic_energy, kinetic_numpy),
    (checks.check_ot_pairing, pairing_scipy),
    (checks.check_marginal_velocity, marginal_velocity),
    (checks.check_posterior, posterior),
    (checks.check_score_to_velocity, score_to_velocity),
    (checks.check_velocity_to_score, velocity_to_score),
    (checks.check_heun_step, heun),
    (checks.check_guided_velocity, guided),
    (cx.check_time_embedding, embedding_interleaved),
    (cx.check_cfm_loss, cfm_loss_coordinate_mean),
    (cx.check_euler_sample, euler),
    (cx.check_path, bent(-2.0)),
    (cx.check_path, bent(1.0, outward=True)),
    (cx.check_path, retimed),
]


@pytest.mark.parametrize("check, answer", RIGHT, ids=lambda f: getattr(f, "__name__", ""))
@pytest.mark.parametrize("seed", [0, None])
def test_right_answers_pass(check, answer, seed, capsys):
    result = check(answer, seed=seed)
    assert result, _replay(result)
    assert capsys.readouterr().out.startswith("✔")


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    checks.check_divergence(divergence_loop, quiet=True)
    assert torch.equal(torch.rand(3), expected)


# ---- wrong answers and the hint each must get ---------------------------------------------


def not_implemented(*args):
    raise NotImplementedError()


def crashes(*args):
    return args[0] @ torch.ones(7, 7)


WRONG = [
    # divergence
    (checks.check_divergence, not_implemented, "not implemented yet"),
    (checks.check_divergence, crashes, "raised"),
    (checks.check_divergence, lambda v, x, t: -divergence_loop(v, x, t), "wrong sign"),
    (checks.check_divergence, lambda v, x, t: 2 * divergence_loop(v, x, t), "constant factor"),
    (checks.check_divergence, lambda v, x, t: divergence_loop(v, x, t)[:, None], "wrong shape"),
    (checks.check_divergence, lambda v, x, t: torch.zeros(x.shape[0]), "constant"),
    (checks.check_divergence, lambda v, x, t: torch.full((x.shape[0],), 1.7), "constant"),
    (checks.check_divergence, lambda v, x, t: divergence_loop(v, x, t) / 0, "NaN"),
    (checks.check_divergence, lambda v, x, t: None, "return"),
    # hutchinson
    (checks.check_hutchinson, lambda v, x, t, e: -hutchinson_vjp(v, x, t, e), "wrong sign"),
    (checks.check_hutchinson, lambda v, x, t, e: 3 * hutchinson_vjp(v, x, t, e), "constant factor"),
    (checks.check_hutchinson, lambda v, x, t, e: divergence_loop(v, x, t), "differ"),
    # kinetic energy
    (checks.check_kinetic_energy, lambda xs, ts: -kinetic_numpy(xs, ts), "wrong sign"),
    (checks.check_kinetic_energy, lambda xs, ts: 0.5 * kinetic_numpy(xs, ts), "constant factor"),
    (
        checks.check_kinetic_energy,
        lambda xs, ts: (xs[1:] - xs[:-1]).pow(2).sum(2).mean(1),
        "one number",
    ),
    (checks.check_kinetic_energy, lambda xs, ts: 4.2, "constant"),
    # OT pairing
    (checks.check_ot_pairing, lambda x_0, x_1: pairing_scipy(x_0, x_1).argsort(), "transposed"),
    (checks.check_ot_pairing, lambda x_0, x_1: torch.arange(x_0.shape[0]), "identity"),
    (
        checks.check_ot_pairing,
        lambda x_0, x_1: (
            pairing_scipy(-x_0, x_1)
            if False
            else torch.as_tensor(
                scipy.optimize.linear_sum_assignment(
                    torch.cdist(x_1, x_0).pow(2).numpy(), maximize=True
                )[1]
            )
        ),
        "wrong sign",
    ),
    (
        checks.check_ot_pairing,
        lambda x_0, x_1: torch.zeros(x_0.shape[0], dtype=torch.long),
        "not a permutation",
    ),
    (checks.check_ot_pairing, lambda x_0, x_1: x_0, "permutation"),
    (checks.check_ot_pairing, not_implemented, "not implemented yet"),
    # marginal field
    (checks.check_marginal_velocity, lambda x, t, p: -marginal_velocity(x, t, p), "wrong sign"),
    (
        checks.check_marginal_velocity,
        lambda x, t, p: marginal_velocity(x, t, p) * (1 - t),
        "differ",  # a factor that changes with t is not "a constant factor"
    ),
    (checks.check_marginal_velocity, lambda x, t, p: x, "input"),
    (checks.check_posterior, lambda x, t, p: posterior(x, t, p).T, "transposed"),
    (checks.check_posterior, lambda x, t, p: torch.softmax(-torch.cdist(x, t * p), 1), "differ"),
    # score <-> velocity
    (
        checks.check_score_to_velocity,
        lambda sc, x, a, s, da, ds: -score_to_velocity(sc, x, a, s, da, ds),
        "wrong sign",
    ),
    (checks.check_score_to_velocity, lambda sc, x, a, s, da, ds: sc, "input"),
    (
        checks.check_velocity_to_score,
        lambda u, x, a, s, da, ds: score_to_velocity(u, x, a, s, da, ds),
        "differ",
    ),
    # Heun
    (checks.check_heun_step, lambda v, x, t, dt: x + dt * v(x, t), "Euler"),
    (
        checks.check_heun_step,
        lambda v, x, t, dt: x + dt * v(x + dt / 2 * v(x, t), t + dt / 2),
        "midpoint",
    ),
    (checks.check_heun_step, lambda v, x, t, dt: x, "input"),
    # guidance
    (checks.check_guided_velocity, lambda u, c, w: guided(c, u, w), "swapped"),
    (checks.check_guided_velocity, lambda u, c, w: c + w * (c - u), "(1 + w)"),
    (checks.check_guided_velocity, lambda u, c, w: -guided(u, c, w), "wrong sign"),
    (checks.check_guided_velocity, lambda u, c, w: 2 * guided(u, c, w), "constant factor"),
    # Exercise 6.2
    (cx.check_time_embedding, lambda t, d, f: embedding_interleaved(t, d, f).T, "transposed"),
    (
        cx.check_time_embedding,
        lambda t, d, f: embedding_interleaved(t * 0 + 0.3, d, f),
        "does not change",
    ),
    (
        cx.check_time_embedding,
        lambda t, d, f: embedding_interleaved(2 * torch.pi * t, d, f),
        "2 pi",
    ),
    (cx.check_time_embedding, not_implemented, "not implemented yet"),
    (
        cx.check_cfm_loss,
        lambda m, x_0, x_1, t, *p: 3 * cfm_loss_coordinate_mean(m, x_0, x_1, t, *p),
        "constant factor",
    ),
    (
        cx.check_cfm_loss,
        lambda m, x_0, x_1, t: (m(x_0, t) - (x_1 - x_0)).pow(2).sum(1),
        "one number",
    ),
    (cx.check_cfm_loss, lambda m, x_0, x_1, t, *p: torch.tensor(1.0), "gradient"),
    (
        cx.check_cfm_loss,
        lambda m, x_0, x_1, t, *p: cfm_loss_coordinate_mean(m, x_0, x_1, t, *p).item(),
        "no gradient",
    ),
    (
        cx.check_cfm_loss,
        lambda m, x_0, x_1, t, *p: cfm_loss_coordinate_mean(m, x_0, x_1, t),
        "ignore the `path`",
    ),
    (
        cx.check_euler_sample,
        lambda v, x, n: euler(lambda y, s: v(y, s + 1 / n), x, n),
        "end of each step",
    ),
    (cx.check_euler_sample, lambda v, x, n: x, "unchanged"),
    (cx.check_path, cx.linear_path, "time in the gap"),
    (cx.check_path, bent(1.0), "time in the gap"),  # the chapter's +90 degrees crosses more
    (cx.check_path, lambda x_0, x_1, t: (bent(-2.0)(x_0, x_1, t)[0], x_1 - x_0), "d x_t / d t"),
    (
        cx.check_path,
        lambda x_0, x_1, t: tuple(z + 0.1 for z in retimed(x_0, x_1, t)),
        "boundary",
    ),
    (
        cx.check_path,
        lambda x_0, x_1, t: (retimed(x_0, x_1, t.detach())[0], retimed(x_0, x_1, t)[1]),
        "torch operations",
    ),
    (cx.check_path, lambda x_0, x_1, t: x_0, "two tensors"),
]


@pytest.mark.parametrize("check, answer, hint", WRONG)
def test_wrong_answers_get_the_right_hint(check, answer, hint):
    for seed in (0, 7):
        message = _hint(check(answer, seed=seed, quiet=True))
        assert hint.lower() in message.lower(), message


def test_a_fixed_case_answer_fails_on_a_fresh_seed():
    # record what a right answer returns for seed 0, then replay it: fails on any other seed
    recorded = []
    checks.check_divergence(
        lambda v, x, t: recorded.append(divergence_loop(v, x, t)) or recorded[-1],
        seed=0,
        quiet=True,
    )
    replay = iter(recorded * 2)
    assert not checks.check_divergence(lambda v, x, t: next(replay), seed=1, quiet=True)


class Field(torch.nn.Module):
    """A small network v(x, t) on [x, t], with optional BatchNorm and Dropout layers."""

    def __init__(self, norm=False, dropout=0.0, row_zero_time=False, max_freq=30.0):
        super().__init__()
        layers = [torch.nn.Linear(3, 16)]
        layers += [torch.nn.BatchNorm1d(16)] if norm else []
        layers += [torch.nn.SiLU(), torch.nn.Dropout(dropout), torch.nn.Linear(16, 2)]
        self.net, self.row_zero_time, self.max_freq = (
            torch.nn.Sequential(*layers),
            row_zero_time,
            max_freq,
        )

    def forward(self, x, t):
        t = torch.as_tensor(t, dtype=x.dtype).expand(x.shape[0])
        if self.row_zero_time:  # every row at row 0's time
            t = t[0].expand(x.shape[0])
        return self.net(torch.cat([x, torch.sin(self.max_freq * t)[:, None]], 1))


class FloatTimeFails(Field):
    def forward(self, x, t):
        return self.net(torch.cat([x, t[:, None]], 1))  # t.shape fails for a float


@pytest.mark.parametrize(
    "network",
    [
        lambda: Field(),
        lambda: Field(norm=True),  # BatchNorm: the one-point rows run in eval mode
        lambda: Field(dropout=0.5),  # Dropout: off in eval mode, so rows agree
    ],
)
def test_vector_field_network_check_passes_right_networks(network):
    net = network()
    net.train()
    for seed in range(5):
        result = cx.check_vector_field(net, seed=seed, quiet=True)
        assert result, _replay(result)
    assert net.training and all(m.training for m in net.modules())  # its mode restored


def test_vector_field_network_check_hints():
    timeless = torch.nn.Linear(2, 2)
    assert "depend on t" in _hint(cx.check_vector_field(lambda x, t: timeless(x), quiet=True))
    assert "shape" in _hint(cx.check_vector_field(lambda x, t: x.sum(1), quiet=True))
    for seed in range(20):  # per-row t: an answer that uses row 0's time for all rows
        message = _hint(cx.check_vector_field(Field(row_zero_time=True), seed=seed, quiet=True))
        assert "its own t" in message, message
    message = _hint(cx.check_vector_field(FloatTimeFails(), quiet=True))
    assert "with a float t" in message and "TypeError" in message, message
    assert "check itself" not in message

    class ZeroDimFails(Field):
        def forward(self, x, t):
            t = torch.full((x.shape[0],), t) if isinstance(t, float) else t
            return self.net(torch.cat([x, t[:, None]], 1))  # a 0-d tensor t fails here

    message = _hint(cx.check_vector_field(ZeroDimFails(), quiet=True))
    assert "with a 0-d tensor t" in message, message
    message = _hint(cx.check_vector_field(lambda x, t: x.numpy(), quiet=True))
    assert "torch.Tensor" in message and "check itself" not in message, message

    # fmlib's network is the library's answer
    message = _hint(cx.check_vector_field(cx.FmlibVectorField, quiet=True))
    assert "`fm.models.VectorFieldMLP.forward` is the library's answer" in message, message

    class IgnoresMaxFreq(Field):
        def __init__(self, hidden=128, time_dim=32, max_freq=30.0):
            super().__init__()

    message = _hint(cx.check_vector_field(IgnoresMaxFreq, quiet=True))
    assert "max_freq" in message, message


def hand_written_train(model, x_data, steps, generator, path=cx.linear_path, lr=5e-3):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        x_1 = x_data[torch.randint(len(x_data), (256,), generator=generator)]
        x_0, t = torch.randn(256, 2, generator=generator), torch.rand(256, generator=generator)
        x_t, u_t = path(x_0, x_1, t)
        loss = (model(x_t, t) - u_t).pow(2).sum(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()


def test_training_loop_check():
    import fmlib as fm

    result = cx.check_training_loop(hand_written_train, quiet=True)
    assert result, _replay(result)

    def no_step(model, x_data, steps, generator, path=None):
        torch.optim.Adam(model.parameters()).zero_grad()

    assert "did not drop" in _hint(cx.check_training_loop(no_step, quiet=True))

    def library(model, x_data, steps, generator, path=None):
        fm.train_cfm(model, x_data, steps=steps, progress=False)

    message = _hint(cx.check_training_loop(library, quiet=True))
    assert "`fm.training.train_cfm` is the library's answer" in message, message


def test_training_loop_hints_follow_the_loss():
    def uphill(model, x_data, steps, generator, path=cx.linear_path):
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
        for _ in range(steps):  # gradient ascent: backward() on minus the loss
            x_1 = x_data[torch.randint(len(x_data), (256,), generator=generator)]
            x_0, t = torch.randn(256, 2, generator=generator), torch.rand(256, generator=generator)
            x_t, u_t = path(x_0, x_1, t)
            optimizer.zero_grad()
            (-(model(x_t, t) - u_t).pow(2).sum(1).mean()).backward()
            optimizer.step()

    message = _hint(cx.check_training_loop(uphill, quiet=True, steps=100))
    assert "went up" in message and "optimizer.step()" not in message, message

    def nan_weights(model, x_data, steps, generator, path=cx.linear_path):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float("nan"))

    message = _hint(cx.check_training_loop(nan_weights, quiet=True, steps=10))
    assert "NaN" in message and "learning rate" in message, message

    def ignores_path(model, x_data, steps, generator, path=cx.linear_path):
        hand_written_train(model, x_data, steps, generator)

    message = _hint(cx.check_training_loop(ignores_path, quiet=True))
    assert "ignores its `path`" in message, message


@pytest.mark.parametrize("answer", [None, 3, "divergence", lambda: 1, lambda *a: object()])
def test_checks_never_raise(answer):
    for check in (
        checks.check_divergence,
        checks.check_ot_pairing,
        cx.check_time_embedding,
        cx.check_vector_field,
    ):
        assert not check(answer, seed=0, quiet=True)


# ---- withheld: a task does not pass by calling fmlib's own answer to it --------------------

from fmlib.checks import _core, section_6_1  # noqa: E402
from fmlib.likelihood import divergence_exact as renamed_divergence  # noqa: E402

WITHHELD = ("fmlib.likelihood.divergence_exact",)


def _divergence_check(answer, seed=0, withheld=WITHHELD):
    return _core.run_check(
        "divergence",
        answer,
        lambda g: section_6_1._field_cases(g, probes=False),
        seed,
        quiet=True,
        withheld=withheld,
    )


def _library_under_a_dict(v, x, t):
    table = {"div": renamed_divergence}
    return table["div"](v, x, t)


def _library_caught(v, x, t):
    try:
        return renamed_divergence(v, x, t)
    except Exception:  # the student hides the error and returns something else
        return torch.zeros(x.shape[0])


@pytest.mark.parametrize(
    "answer",
    [
        lambda v, x, t: fm_likelihood().divergence_exact(v, x, t),
        lambda v, x, t: renamed_divergence(v, x, t),
        renamed_divergence,  # the library function passed as the answer itself
        _library_under_a_dict,
        _library_caught,
        lambda v, x, t: __import__("fmlib").likelihood.divergence_exact(v, x, t, create_graph=True),
    ],
)
def test_a_withheld_library_function_is_refused_under_any_name(answer):
    message = _hint(_divergence_check(answer))
    assert "`fm.likelihood.divergence_exact` is the library's answer" in message, message
    assert "check itself failed" not in message and "raised" not in message, message
    # restored afterwards: the library works again, under both names
    x = torch.randn(4, 3, dtype=torch.float64)
    assert torch.allclose(
        renamed_divergence(lambda y, t: 3 * y, x, 0.0), torch.full((4,), 9.0).double()
    )


def fm_likelihood():
    import fmlib.likelihood

    return fmlib.likelihood


def test_a_right_answer_passes_while_the_reference_uses_the_withheld_function():
    # the 6.1 references come from closed forms and autograd; here the reference itself is
    # fmlib's divergence, computed by the cases while the function is withheld from the student
    def cases(g):
        x = torch.randn(5, 3, generator=g, dtype=torch.float64)
        v = lambda y, t: torch.sin(y) * (1 + t)  # noqa: E731
        return [_core.Case("sin field", (v, x, 0.5), renamed_divergence(v, x, 0.5))]

    for seed in range(3):
        result = _core.run_check(
            "divergence", divergence_loop, cases, seed, True, withheld=WITHHELD
        )
        assert result, _replay(result)


def test_withheld_methods_and_closures():
    import fmlib as fm

    # a method of a class (the marginal velocity of an empirical target) ...
    def cases(g):
        points = torch.randn(3, 2, generator=g, dtype=torch.float64)
        x = torch.randn(4, 2, generator=g, dtype=torch.float64)
        ref = fm.analytic.empirical_target(points).velocity(x, 0.5)
        return [_core.Case("3 points", (x, 0.5, points), ref)]

    library = lambda x, t, p: fm.analytic.empirical_target(p).velocity(x, t)  # noqa: E731
    names = ("fmlib.analytic.EmpiricalTarget.velocity", "fmlib.analytic.GaussianMixture.velocity")
    message = _hint(_core.run_check("mv", library, cases, 0, True, withheld=names))
    assert "`fm.analytic.EmpiricalTarget.velocity` is the library's answer" in message, message
    assert _core.run_check("mv", marginal_velocity, cases, 0, True, withheld=names)
    # ... and a decorated function (a wrapper with free variables): fm.train_cfm
    assert fm.train_cfm.__code__.co_freevars

    def cases(g):
        return [_core.Case("a model", (torch.nn.Linear(2, 2),), lambda out, model: None)]

    def train(model):
        fm.train_cfm(model, torch.randn(8, 2), steps=1, progress=False)

    names = ("fmlib.training.train_cfm",)
    message = _hint(_core.run_check("training loop", train, cases, 0, True, withheld=names))
    assert "`fm.training.train_cfm` is the library's answer" in message, message
    assert fm.train_cfm.__code__.co_name == "wrapper"


def test_a_withheld_name_that_does_not_exist_is_the_checks_own_error():
    message = _hint(_divergence_check(divergence_loop, withheld=("fmlib.likelihood.nonexistent",)))
    assert "check itself failed" in message, message


def test_keyboard_interrupt_gets_through_and_everything_is_restored():
    def interrupted(v, x, t):
        raise KeyboardInterrupt

    code = renamed_divergence.__code__
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    with pytest.raises(KeyboardInterrupt):
        _divergence_check(interrupted)
    assert renamed_divergence.__code__ is code
    assert torch.equal(torch.rand(2), expected)
    assert _core._active_withheld == [()]


# ---- checks without holes: each class of accepted-wrong answer or misleading hint ----------


def test_diverging_learning_rate_is_told_the_loss_went_up():
    def too_fast(model, x_data, steps, generator, path=cx.linear_path):
        hand_written_train(model, x_data, steps, generator, path, lr=100.0)

    message = _hint(cx.check_training_loop(too_fast, quiet=True, steps=100))
    assert "learning rate" in message and "optimizer.step()" not in message, message


@pytest.mark.parametrize(
    "check, answer",
    [
        (
            checks.check_score_to_velocity,
            lambda sc, x, a, s, da, ds: score_to_velocity(sc, x, a[0], s[0], da[0], ds[0]),
        ),
        (
            checks.check_velocity_to_score,
            lambda u, x, a, s, da, ds: velocity_to_score(u, x, a[:1], s[:1], da[:1], ds[:1]),
        ),
    ],
)
def test_one_time_per_row_catches_row_zero_coefficients(check, answer):
    for seed in range(50):
        assert "differ" in _hint(check(answer, seed=seed, quiet=True))


def posterior_nearest_only(x, t, points):
    return torch.nn.functional.one_hot(
        torch.cdist(x, t * points).argmin(1), points.shape[0]
    ).double()


def posterior_without_the_2(x, t, points):
    return torch.softmax(-torch.cdist(x, t * points).pow(2) / (1 - t) ** 2, dim=1)


def _velocity_from(posterior_fn):
    def velocity(x, t, points):
        w = posterior_fn(x, t, points)
        return (w @ points - x) / (1 - t)

    return velocity


def test_the_empirical_cases_discriminate_on_every_seed():
    # too-easy draws (one data point, t near 1) once let these pass on a few percent of seeds
    for seed in range(200):
        assert checks.check_posterior(posterior, seed=seed, quiet=True)
        assert checks.check_marginal_velocity(marginal_velocity, seed=seed, quiet=True)
        for wrong in (posterior_nearest_only, posterior_without_the_2):
            assert not checks.check_posterior(wrong, seed=seed, quiet=True), (seed, wrong)
            assert not checks.check_marginal_velocity(_velocity_from(wrong), seed=seed, quiet=True)


def test_an_answer_that_writes_into_its_input_is_told():
    def doubles_x_in_place(v, x, t):
        x.mul_(2)
        return divergence_loop(v, x / 2, t)  # the right numbers

    message = _hint(checks.check_divergence(doubles_x_in_place, seed=0, quiet=True))
    assert "changed its input `x` in place" in message, message

    def sorts_in_place(xs, ts):
        ts[:] = ts.flip(0)  # a write into ts
        return kinetic_numpy(xs, ts.flip(0))

    message = _hint(checks.check_kinetic_energy(sorts_in_place, seed=0, quiet=True))
    assert "`ts` in place" in message, message


def test_a_permutation_of_floats_is_refused():
    message = _hint(
        checks.check_ot_pairing(lambda a, b: pairing_scipy(a, b).double(), seed=0, quiet=True)
    )
    assert "integer indices" in message, message
    # integer arrays of NumPy pass
    assert checks.check_ot_pairing(lambda a, b: pairing_scipy(a, b).numpy(), seed=0, quiet=True)


def test_system_exit_is_caught_and_reported():
    def exits(*args):
        raise SystemExit(2)

    def quits(*args):
        exit()

    for answer in (exits, quits):
        message = _hint(checks.check_divergence(answer, seed=0, quiet=True))
        assert "exit()" in message and "check itself" not in message, message


def test_keyboard_interrupt_still_interrupts_a_check():
    def interrupted(*args):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checks.check_heun_step(interrupted, seed=0, quiet=True)
    assert heun(lambda x, t: x, torch.ones(1, 1), 0.0, 0.1).item() == pytest.approx(1.105)


@pytest.mark.parametrize(
    "answer, hint",
    [
        (lambda v, x, t: divergence_loop(v, x, t).tolist(), "got a list"),
        (lambda v, x, t: divergence_loop(v, x, t).numpy(), "got a numpy.ndarray"),
        (lambda v, x, t: torch.empty(x.shape[0], device="meta"), "is on meta"),
        (lambda v, x, t: "divergence", "got a str"),
    ],
)
def test_odd_results_are_the_students_not_the_checks(answer, hint):
    message = _hint(checks.check_divergence(answer, seed=0, quiet=True))
    assert hint in message and "check itself" not in message, message


def test_a_hint_that_cannot_read_an_answer_falls_back_to_the_generic_one():
    # section 6.5's Heun hints compare with torch.allclose: a meta tensor must not crash them
    message = _hint(checks.check_heun_step(lambda v, x, t, dt: x.to("meta"), seed=0, quiet=True))
    assert "is on meta" in message and "check itself" not in message, message


def test_a_constant_factor_is_claimed_only_when_it_holds_in_every_case():
    # a wrong scalar is "got X, expected Y", not "off by a constant factor"
    message = _hint(
        checks.check_kinetic_energy(lambda xs, ts: kinetic_numpy(xs, ts) + 1.0, seed=0, quiet=True)
    )
    assert "got" in message and "expected" in message and "factor" not in message, message
    # twice the right answer in every case is a constant factor
    message = _hint(
        checks.check_kinetic_energy(lambda xs, ts: 2 * kinetic_numpy(xs, ts), seed=0, quiet=True)
    )
    assert "constant factor: yours is 2 x" in message, message
    # a factor on some cases only (the linear field: a reference constant across rows) is not
    d = {"n": 0}

    def twice_on_linear(v, x, t):
        d["n"] += 1
        out = divergence_loop(v, x, t)
        return 2 * out if torch.allclose(out, out[0]) else out

    message = _hint(checks.check_divergence(twice_on_linear, seed=0, quiet=True))
    assert "factor" not in message and "differ" in message, message

    # one case whose reference is the same number in every row: no factor claimed
    def cases(g):
        x = torch.randn(4, 2, generator=g, dtype=torch.float64)
        return [_core.Case("one case", (x,), torch.full((4,), 3.0, dtype=torch.float64))]

    message = _hint(_core.run_check("c", lambda x: torch.full((4,), 5.0), cases, 0, True))
    assert "factor" not in message, message


def test_hints_name_their_case_once():
    message = _hint(checks.check_guided_velocity(lambda u, c, w: guided(c, u, w), quiet=True))
    assert message.count("w = ") == 1, message
