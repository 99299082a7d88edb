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


def cfm_loss_coordinate_mean(model, x_0, x_1, t):
    x_t = x_0 + t[:, None] * (x_1 - x_0)
    return torch.nn.functional.mse_loss(model(x_t, t), x_1 - x_0)


def euler(v, x_0, steps):
    x = x_0
    for k in range(steps):
        x = x + v(x, k / steps) / steps
    return x


def curved(x_0, x_1, t, a):
    d = x_1 - x_0
    n = torch.stack([-d[:, 1], d[:, 0]], 1) / torch.linalg.vector_norm(d, dim=1, keepdim=True)
    return d + a * (1 - 2 * t)[:, None] * n


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
    (cx.check_curved_velocity, curved),
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
        lambda m, x_0, x_1, t: 3 * cfm_loss_coordinate_mean(m, x_0, x_1, t),
        "constant factor",
    ),
    (
        cx.check_cfm_loss,
        lambda m, x_0, x_1, t: (m(x_0, t) - (x_1 - x_0)).pow(2).sum(1),
        "one number",
    ),
    (cx.check_cfm_loss, lambda m, x_0, x_1, t: torch.tensor(1.0), "constant"),
    (
        cx.check_euler_sample,
        lambda v, x, n: euler(lambda y, s: v(y, s + 1 / n), x, n),
        "end of each step",
    ),
    (cx.check_euler_sample, lambda v, x, n: x, "unchanged"),
    (cx.check_curved_velocity, lambda x_0, x_1, t, a: curved(x_0, x_1, t, -a), "other way"),
    (cx.check_curved_velocity, lambda x_0, x_1, t, a: -curved(x_0, x_1, t, a), "wrong sign"),
    (cx.check_curved_velocity, lambda x_0, x_1, t, a: x_1 - x_0, "differ"),
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


def test_vector_field_network_check():
    import fmlib as fm

    result = cx.check_vector_field(fm.VectorFieldMLP(), quiet=True)
    assert result, _replay(result)
    timeless = torch.nn.Linear(2, 2)
    result = cx.check_vector_field(lambda x, t: timeless(x), quiet=True)
    assert "depend on t" in _hint(result), _replay(result)
    result = cx.check_vector_field(lambda x, t: x.sum(1), quiet=True)
    assert "shape" in _hint(result), _replay(result)


def test_training_loop_check():
    import fmlib as fm

    def train(model, x_data, steps, generator):
        fm.train_cfm(
            model,
            x_data,
            steps=steps,
            seed=int(torch.randint(0, 100, (), generator=generator)),
            progress=False,
            ema_decay=None,
        )

    def no_step(model, x_data, steps, generator):
        torch.optim.Adam(model.parameters()).zero_grad()

    result = cx.check_training_loop(train, quiet=True)
    assert result, _replay(result)
    result = cx.check_training_loop(no_step, quiet=True)
    assert "did not drop" in _hint(result), _replay(result)


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
