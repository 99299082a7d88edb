"""Bad input everywhere: a ValueError or TypeError that names the object, never a torch crash.

Property-based (hypothesis): wrong shapes (1-D, 3-D, wrong D), integer dtypes, non-tensors, NaN and
inf, times outside [0, 1], t of shape (B, 1) or the wrong length, mismatched batches, across every
entry point. The exception type is pinned per kind of bad input: the wrong type (not a tensor, an
integer tensor, a string, None, a float where a count is due) is a TypeError; the right type with
the wrong shape, range or a NaN is a ValueError; and the message names the object. Any other
exception (a RuntimeError from deep inside torch, an IndexError, ...) fails the test.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from helpers import PATHS
from hypothesis import given
from hypothesis import strategies as st

from fmlib import analytic, couplings, data, diffusion, likelihood, models, ot, paths, solvers

TIME_MSG = r"\bt (must|contains)"


def expected_for_points(x: object) -> type[Exception]:
    """Not a tensor, or not floating point: TypeError; a floating tensor of the wrong shape or
    with NaN / inf: ValueError."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return TypeError
    return ValueError


def expected_for_time(t: object) -> type[Exception]:
    """Not a float or a tensor (str, None, bool, ndarray): TypeError; out of [0, 1], NaN, or a
    tensor of the wrong shape: ValueError."""
    if isinstance(t, bool) or not isinstance(t, (int, float, torch.Tensor)):
        return TypeError
    return ValueError


def expected_for_count(n: object) -> type[Exception]:
    """Not an int (a float, a string, a bool): TypeError; an int < 1: ValueError."""
    if isinstance(n, bool) or not isinstance(n, int):
        return TypeError
    return ValueError


def _named(name: str) -> str:
    """A regex matching the object's name as a word (so "x" does not match inside "x_0")."""
    return rf"(?<![\w]){re.escape(name)}(?![\w])"


# --- strategies ----------------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=6)


@st.composite
def malformed_points(draw, dim: int = 2, fixed_dim: bool = True):
    """Not a floating (B, dim) tensor (finite or not). ``fixed_dim``: the entry point knows D, so a
    (B, D') tensor is wrong too (where D is free, e.g. solvers.solve, a (B, 3) tensor is fine)."""
    kinds = ["1d", "3d", "int", "int32", "list", "ndarray", "none"] + (
        ["wrong_dim"] if fixed_dim else []
    )
    kind = draw(st.sampled_from(kinds))
    b = draw(sizes)
    if kind == "1d":
        return torch.randn(b)
    if kind == "3d":
        return torch.randn(b, dim, draw(sizes))
    if kind == "int":
        return torch.ones(b, dim, dtype=torch.long)
    if kind == "int32":
        return torch.ones(b, dim, dtype=torch.int32)
    if kind == "list":
        return [[0.0] * dim] * b
    if kind == "ndarray":
        return np.zeros((b, dim))
    if kind == "wrong_dim":
        return torch.randn(b, dim + draw(st.integers(1, 3)))
    return None


@st.composite
def non_finite_points(draw, batch: int | None = None, dim: int = 2):
    b = batch if batch is not None else draw(sizes)
    x = torch.randn(b, dim)
    i, j = draw(st.integers(0, b - 1)), draw(st.integers(0, dim - 1))
    x[i, j] = draw(st.sampled_from([float("nan"), float("inf"), -float("inf")]))
    return x


def bad_points(dim: int = 2, fixed_dim: bool = True):
    return st.one_of(malformed_points(dim, fixed_dim), non_finite_points(dim=dim))


out_of_range = st.one_of(
    st.floats(min_value=1.001, max_value=1e6),
    st.floats(min_value=-1e6, max_value=-0.001),
    st.sampled_from([-0.5, 1.5, float("nan"), float("inf"), -float("inf")]),
)


@st.composite
def bad_times(draw, batch: int):
    """Anything that is not a float or (batch,) tensor of times in [0, 1]."""
    kind = draw(
        st.sampled_from(
            [
                "float",
                "0d",
                "column",
                "wrong_len",
                "nan_entry",
                "2d",
                "str",
                "none",
                "ndarray",
                "bool",
            ]
        )
    )
    if kind == "float":
        return draw(out_of_range)
    if kind == "0d":
        return torch.tensor(draw(out_of_range))
    if kind == "column":
        return torch.rand(batch, 1)
    if kind == "wrong_len":
        return torch.rand(batch + draw(st.integers(1, 3)))
    if kind == "nan_entry":
        t = torch.rand(batch)
        t[draw(st.integers(0, batch - 1))] = float("nan")
        return t
    if kind == "2d":
        return torch.rand(batch, 2)
    if kind == "str":
        return "0.5"
    if kind == "ndarray":
        return np.full(batch, 0.5)
    if kind == "bool":
        return True
    return None


path_names = st.sampled_from(sorted(PATHS))


def _good(b=4, d=2, dtype=torch.float32):
    return torch.randn(b, d, dtype=dtype)


def contracting_field(x, t):
    return -x


# --- paths ---------------------------------------------------------------------------------------


@given(name=path_names, bad=malformed_points(), which=st.sampled_from(["x_0", "x_1"]))
def test_path_sample_rejects_malformed_points(name, bad, which):
    good = _good()
    args = {"x_0": good, "x_1": good.clone(), which: bad}
    with pytest.raises(expected_for_points(bad), match=_named(which)):
        PATHS[name]().sample(args["x_0"], args["x_1"], 0.5)


@given(name=path_names, b=sizes, data_=st.data())
def test_path_sample_rejects_bad_times(name, b, data_):
    t = data_.draw(bad_times(b))
    with pytest.raises(expected_for_time(t), match=TIME_MSG):
        PATHS[name]().sample(_good(b), _good(b), t)


@given(name=path_names, b0=sizes, b1=sizes)
def test_path_sample_rejects_mismatched_batches(name, b0, b1):
    if b0 == b1:
        b1 += 1
    with pytest.raises(ValueError, match="x_0 and x_1"):
        PATHS[name]().sample(_good(b0), _good(b1), 0.5)


@given(name=path_names, x=non_finite_points(batch=4))
def test_path_sample_with_non_finite_points_never_crashes(name, x):
    """Paths skip the finiteness scan on the training hot path: NaN / inf propagate, nothing crashes."""
    try:
        ps = PATHS[name]().sample(x, _good(), 0.5)
    except ValueError as err:
        assert "x_0" in str(err)
    else:
        assert not torch.isfinite(ps.x_t).all()


# --- models --------------------------------------------------------------------------------------


@given(bad=malformed_points())
def test_model_rejects_malformed_points(bad):
    with pytest.raises(expected_for_points(bad), match=_named("x")):
        models.VectorFieldMLP(hidden=8, depth=1)(bad, 0.5)


@given(b=sizes, data_=st.data())
def test_model_rejects_bad_times(b, data_):
    t = data_.draw(bad_times(b))
    with pytest.raises(expected_for_time(t), match=TIME_MSG):
        models.VectorFieldMLP(hidden=8, depth=1)(_good(b), t)


@given(
    b=sizes, kind=st.sampled_from(["float", "short", "too_big", "negative", "wrong_len", "list"])
)
def test_model_rejects_bad_labels(b, kind):
    m = models.VectorFieldMLP(hidden=8, depth=1, num_classes=3)
    y = {
        "float": torch.zeros(b),
        "short": torch.zeros(b, dtype=torch.int16),
        "too_big": torch.full((b,), 4, dtype=torch.long),
        "negative": torch.full((b,), -1, dtype=torch.long),
        "wrong_len": torch.zeros(b + 1, dtype=torch.long),
        "list": [0] * b,
    }[kind]
    with pytest.raises(
        TypeError if kind in ("float", "short", "list") else ValueError, match=_named("y")
    ):
        m(_good(b), 0.5, y)


def test_model_float64_input_is_a_clear_error():
    with pytest.raises(TypeError, match=_named("x")):
        models.VectorFieldMLP(hidden=8, depth=1)(_good(dtype=torch.float64), 0.5)
    with pytest.raises(TypeError, match=_named("x")):
        models.ReferenceMLP(hidden=8)(_good(dtype=torch.float64), 0.5)


# --- solvers -------------------------------------------------------------------------------------


@given(bad=bad_points(fixed_dim=False), method=st.sampled_from(solvers.METHODS))
def test_solve_rejects_bad_initial_points(bad, method):
    with pytest.raises(expected_for_points(bad), match=_named("x_init")):
        solvers.solve(contracting_field, bad, method=method, steps=2)


@given(
    value=st.one_of(out_of_range, st.just("0"), st.just(None)),
    which=st.sampled_from(["t0", "t1"]),
    method=st.sampled_from(solvers.METHODS),
)
def test_solve_rejects_bad_end_times(value, which, method):
    with pytest.raises(expected_for_time(value), match=_named(which)):
        solvers.solve(contracting_field, _good(), method=method, steps=2, **{which: value})


@given(steps=st.one_of(st.integers(max_value=0), st.floats(0.5, 10.0), st.just("10")))
def test_solve_rejects_bad_steps(steps):
    with pytest.raises(expected_for_count(steps), match=_named("steps")):
        solvers.solve(contracting_field, _good(), method="euler", steps=steps)


@given(method=st.text(max_size=8).filter(lambda m: m not in solvers.METHODS))
def test_solve_rejects_unknown_methods(method):
    with pytest.raises(ValueError, match="method"):
        solvers.solve(contracting_field, _good(), method=method)


@given(
    method=st.sampled_from(solvers.METHODS), kind=st.sampled_from(["rows", "cols", "1d", "list"])
)
def test_solve_rejects_fields_returning_the_wrong_shape(method, kind):
    field = {
        "rows": lambda x, t: x[:-1],
        "cols": lambda x, t: x[:, :1],
        "1d": lambda x, t: x.sum(1),
        "list": lambda x, t: [0.0],
    }[kind]
    with pytest.raises(TypeError if kind == "list" else ValueError, match="vector field"):
        solvers.solve(field, _good(), method=method, steps=2)


# --- likelihood ----------------------------------------------------------------------------------

DIVERGENCES = {
    "exact": lambda v, x, t: likelihood.divergence_exact(v, x, t),
    "hutchinson": lambda v, x, t: likelihood.divergence_hutchinson(v, x, t, k=2),
    "rademacher": lambda v, x, t: likelihood.divergence_hutchinson(v, x, t, probe="rademacher"),
}


@given(kind=st.sampled_from(sorted(DIVERGENCES)), bad=bad_points(fixed_dim=False))
def test_divergence_rejects_bad_points(kind, bad):
    with pytest.raises(expected_for_points(bad), match=_named("x")):
        DIVERGENCES[kind](contracting_field, bad, 0.5)


@given(kind=st.sampled_from(sorted(DIVERGENCES)), b=sizes, data_=st.data())
def test_divergence_rejects_bad_times_even_for_a_plain_function(kind, b, data_):
    t = data_.draw(bad_times(b))
    with pytest.raises(expected_for_time(t), match=TIME_MSG):
        DIVERGENCES[kind](contracting_field, _good(b), t)


@given(kind=st.sampled_from(sorted(DIVERGENCES)), shape=st.sampled_from(["rows", "cols", "1d"]))
def test_divergence_rejects_fields_returning_the_wrong_shape(kind, shape):
    field = {
        "rows": lambda x, t: x[:-1],
        "cols": lambda x, t: x[:, :1],
        "1d": lambda x, t: x.sum(1),
    }[shape]
    with pytest.raises(ValueError, match="vector field"):
        DIVERGENCES[kind](field, _good(), 0.5)


@given(
    k=st.one_of(st.integers(max_value=0), st.floats(0.5, 3.0)),
    probe=st.sampled_from(["gauss", "", "Rademacher"]),
)
def test_hutchinson_rejects_bad_k_and_probe(k, probe):
    with pytest.raises(expected_for_count(k), match=_named("k")):
        likelihood.divergence_hutchinson(contracting_field, _good(), 0.5, k=k)
    with pytest.raises(ValueError, match="probe"):
        likelihood.divergence_hutchinson(contracting_field, _good(), 0.5, probe=probe)


@given(bad=bad_points(fixed_dim=False), method=st.sampled_from(["euler", "dopri5"]))
def test_log_prob_rejects_bad_points(bad, method):
    with pytest.raises(expected_for_points(bad), match=_named("x_1")):
        likelihood.log_prob(contracting_field, bad, method=method, steps=2)


def test_log_prob_rejects_a_bad_divergence_name_and_source():
    with pytest.raises(ValueError, match="divergence"):
        likelihood.log_prob(contracting_field, _good(), divergence="trace")
    with pytest.raises(ValueError, match=_named("x")):
        likelihood.log_prob(
            contracting_field, _good(), source=data.StandardGaussian(3), method="euler", steps=1
        )


# --- ot ------------------------------------------------------------------------------------------

OT_FUNCS = {"w2": ot.w2, "ot_plan": ot.ot_plan}


@given(
    fn=st.sampled_from(sorted(OT_FUNCS)),
    bad=st.one_of(bad_points(), st.just(torch.zeros(0, 2))),
    which=st.sampled_from(["x", "y"]),
)
def test_ot_rejects_bad_point_sets(fn, bad, which):
    args = {"x": _good(5), "y": _good(7), which: bad}
    with pytest.raises(expected_for_points(bad), match=_named(which)):
        OT_FUNCS[fn](args["x"], args["y"])


@given(fn=st.sampled_from(sorted(OT_FUNCS)), d=st.integers(1, 4), extra=st.integers(1, 3))
def test_ot_rejects_mismatched_dimensions(fn, d, extra):
    with pytest.raises(ValueError, match="dimension"):
        OT_FUNCS[fn](_good(5, d), _good(5, d + extra))


@given(k=st.integers(2, 5), kind=st.sampled_from(["2d", "4d", "ts_len", "ts_2d", "list"]))
def test_trajectory_measures_reject_bad_shapes(k, kind):
    xs, ts = torch.zeros(k, 3, 2), torch.linspace(0, 1, k)
    if kind == "2d":
        xs = torch.zeros(k, 3)
    elif kind == "4d":
        xs = torch.zeros(k, 3, 2, 1)
    elif kind == "ts_len":
        ts = torch.linspace(0, 1, k + 1)
    elif kind == "ts_2d":
        ts = ts[:, None]
    else:
        xs = [[0.0]]
    error = TypeError if kind == "list" else ValueError  # a list is the wrong type, not shape
    with pytest.raises(error, match=r"\b(xs|ts) must"):
        ot.kinetic_energy(xs, ts)
    if kind not in ("ts_len", "ts_2d"):
        with pytest.raises(error, match=r"\bxs must"):
            ot.straightness(xs)


# --- couplings -----------------------------------------------------------------------------------

COUPLING_CALLS = {
    "independent": lambda x_0, x_1, **kw: couplings.independent(x_0, x_1, **kw),
    "exact": lambda x_0, x_1, **kw: couplings.ot_pairing(x_0, x_1, **kw),
    "block": lambda x_0, x_1, **kw: couplings.ot_pairing(x_0, x_1, block_size=2, **kw),
    "sinkhorn": lambda x_0, x_1, **kw: couplings.ot_pairing(x_0, x_1, method="sinkhorn", **kw),
}


@given(
    kind=st.sampled_from(sorted(COUPLING_CALLS)),
    bad=bad_points(),
    which=st.sampled_from(["x_0", "x_1"]),
)
def test_couplings_reject_bad_points(kind, bad, which):
    args = {"x_0": _good(), "x_1": _good(), which: bad}
    with pytest.raises(expected_for_points(bad), match=_named(which)):
        COUPLING_CALLS[kind](args["x_0"], args["x_1"])


@given(
    kind=st.sampled_from(sorted(COUPLING_CALLS)),
    b0=sizes,
    b1=sizes,
    d0=st.integers(1, 3),
    d1=st.integers(1, 3),
)
def test_couplings_reject_mismatched_shapes(kind, b0, b1, d0, d1):
    if (b0, d0) == (b1, d1):
        b1 += 1
    with pytest.raises(ValueError, match="x_0 and x_1"):
        COUPLING_CALLS[kind](_good(b0, d0), _good(b1, d1))


@given(
    kind=st.sampled_from(["exact", "block", "sinkhorn"]), y=st.sampled_from(["short", "2d", "list"])
)
def test_ot_pairing_rejects_bad_labels(kind, y):
    y_1 = {
        "short": torch.zeros(3, dtype=torch.long),
        "2d": torch.zeros(4, 1),
        "list": [0, 1, 2, 3],
    }[y]
    with pytest.raises(ValueError, match=_named("y_1")):
        COUPLING_CALLS[kind](_good(), _good(), y_1=y_1)


@given(block=st.one_of(st.integers(max_value=0), st.floats(0.5, 4.5), st.just("2")))
def test_ot_pairing_rejects_bad_block_sizes(block):
    with pytest.raises(expected_for_count(block), match="block_size"):
        couplings.ot_pairing(_good(8), _good(8), block_size=block)


@given(b=st.integers(1, 6), radius=st.sampled_from([0.0, 1e-3, 1.0]))
def test_sinkhorn_survives_degenerate_costs(b, radius):
    # x_1 is one point and x_0 lies on a circle around it: every pairing costs the same (0 when
    # the radius is 0). The rows of x_0 differ whenever radius > 0, so a wrong index shows.
    angle = torch.arange(b) * (2 * math.pi / b)
    x_0 = 0.3 + radius * torch.stack([angle.cos(), angle.sin()], dim=1)
    x_1 = torch.full((b, 2), 0.3)
    out = couplings.ot_pairing(
        x_0, x_1, method="sinkhorn", generator=torch.Generator().manual_seed(0)
    )
    assert bool(torch.isfinite(out.x_0).all())
    assert bool((out.x_0[:, None, :] == x_0[None]).all(dim=2).any(dim=1).all())  # rows of x_0


# --- diffusion and analytic ----------------------------------------------------------------------


@given(bad=malformed_points(), which=st.sampled_from(["score", "x"]))
def test_score_velocity_maps_reject_bad_shapes(bad, which):
    args = {"score": _good(), "x": _good(), which: bad}
    with pytest.raises(expected_for_points(bad), match=_named(which)):
        diffusion.score_to_velocity(args["score"], args["x"], 0.5, paths.vp_path())
    args = {"velocity": _good(), "x": _good(), ("velocity" if which == "score" else "x"): bad}
    with pytest.raises(
        expected_for_points(bad), match=_named("velocity" if which == "score" else "x")
    ):
        diffusion.velocity_to_score(args["velocity"], args["x"], 0.5, paths.vp_path())


@given(b0=sizes, b1=sizes)
def test_score_velocity_maps_reject_mismatched_batches(b0, b1):
    if b0 == b1:
        b1 += 1
    with pytest.raises(ValueError, match="score and x"):
        diffusion.score_to_velocity(_good(b0), _good(b1), 0.5, paths.vp_path())


@given(b=sizes, data_=st.data())
def test_diffusion_fields_reject_bad_times(b, data_):
    t = data_.draw(bad_times(b))
    with pytest.raises(expected_for_time(t), match=TIME_MSG):
        diffusion.probability_flow_field(lambda x, t: -x, diffusion.VPSDE())(_good(b), t)
    with pytest.raises(expected_for_time(t), match=TIME_MSG):
        diffusion.score_to_velocity(_good(b), _good(b), t, paths.cosine_path())


@given(bad=bad_points(fixed_dim=False), steps=st.integers(1, 3))
def test_reverse_sde_sample_rejects_bad_points(bad, steps):
    with pytest.raises(expected_for_points(bad), match=_named("x_init")):
        diffusion.reverse_sde_sample(lambda x, t: -x, diffusion.VPSDE(), bad, steps=steps)


MIXTURE = analytic.GaussianMixture(torch.randn(3, 2), torch.tensor([0.2, 0.3, 0.4]))


@given(method=st.sampled_from(["log_prob", "score", "velocity", "posterior"]), bad=bad_points())
def test_mixture_rejects_bad_points(method, bad):
    with pytest.raises(expected_for_points(bad), match=_named("x")):
        getattr(MIXTURE, method)(bad, 0.5)


@given(
    method=st.sampled_from(["log_prob", "score", "velocity", "posterior"]), b=sizes, data_=st.data()
)
def test_mixture_rejects_bad_times(method, b, data_):
    t = data_.draw(bad_times(b))
    with pytest.raises(expected_for_time(t), match=TIME_MSG):
        getattr(MIXTURE, method)(_good(b), t)


@given(bad=malformed_points(fixed_dim=False))
def test_mixture_rejects_bad_means(bad):
    with pytest.raises(expected_for_points(bad), match="means"):
        analytic.GaussianMixture(bad)


# --- data ----------------------------------------------------------------------------------------


@given(
    name=st.sampled_from(sorted(data.DATASETS)),
    n=st.one_of(st.integers(max_value=0), st.floats(0.5, 10.0), st.just(True), st.just("10")),
)
def test_samplers_reject_bad_n(name, n):
    with pytest.raises(expected_for_count(n), match=_named("n")):
        data.DATASETS[name](n, torch.Generator().manual_seed(0))


@given(
    name=st.sampled_from(sorted(data.DATASETS)),
    g=st.sampled_from([0, "seed", np.random.default_rng(0)]),
)
def test_samplers_reject_bad_generators(name, g):
    with pytest.raises(TypeError, match="generator"):
        data.DATASETS[name](4, g)


@given(bad=bad_points(dim=3))
def test_standard_gaussian_log_prob_rejects_bad_points(bad):
    with pytest.raises(expected_for_points(bad), match=_named("x")):
        data.StandardGaussian(3).log_prob(bad)
