"""Checks for the exercises of Section 6.2: kinetic energy and minibatch OT."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..i18n import t as _t
from ._core import Case, CheckResult, as_tensor, random_batch, run_check, shaped

_OT = (
    "fmlib.couplings.ot_pairing",
    "fmlib.ot.kinetic_energy",
    "fmlib.ot.w2",
    "fmlib.analytic.gaussian_w2",
)


def check_kinetic_energy(
    kinetic_energy: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``kinetic_energy(xs, ts) -> float``: sum_k mean_b |x_{k+1} - x_k|^2 / (t_{k+1} - t_k). Section 6.2.2."""

    def cases(g):
        out = []
        for _ in range(3):
            b, d = random_batch(g)
            k = int(torch.randint(4, 12, (), generator=g))
            ts = torch.cat(
                [torch.zeros(1), torch.rand(k - 2, generator=g).sort().values, torch.ones(1)]
            ).double()
            x_0 = torch.randn(b, d, generator=g, dtype=torch.float64)
            x_1 = 2 * torch.randn(b, d, generator=g, dtype=torch.float64)
            straight = x_0 + ts[:, None, None] * (x_1 - x_0)  # (K, B, D): energy mean |x_1 - x_0|^2
            ref = (x_1 - x_0).pow(2).sum(1).mean().reshape(())
            out.append(Case(_t("straight lines"), (straight, ts), ref))
            # a piecewise-straight wiggle: each segment's energy |dx|^2 / dt, in closed form
            wiggle = straight + torch.randn(k, b, d, generator=g, dtype=torch.float64) * 0.3
            dx, dt = wiggle[1:] - wiggle[:-1], ts[1:] - ts[:-1]
            ref = sum(dx[i].pow(2).sum(1).mean() / dt[i] for i in range(k - 1)).reshape(())
            out.append(Case(_t("zig-zag paths"), (wiggle, ts), ref))
        return out

    def hints(out, case):
        got = as_tensor(out)
        if got is not None and got.numel() > 1:
            return _t(
                "expected one number (a float); got a tensor of shape {shape}: average over "
                "particles and sum over steps",
                shape=tuple(got.shape),
            )
        return None

    return run_check(
        "kinetic_energy", kinetic_energy, cases, seed, quiet, hints=hints, withheld=_OT
    )


def check_ot_pairing(
    ot_pairing: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``ot_pairing(x_0, x_1) -> perm`` with x_0[perm] paired to x_1 at least total cost. Section 6.2.3.

    Any optimal permutation passes (ties allowed); the reference cost is POT's exact OT.
    """
    import numpy as np
    import ot as pot

    def emd(m: Tensor) -> float:
        b = m.shape[0]
        return float(pot.emd2(np.full(b, 1 / b), np.full(b, 1 / b), m.numpy()))

    def judge(out: object, x_0: Tensor, x_1: Tensor) -> str | None:
        b = x_0.shape[0]
        perm = as_tensor(out)
        if perm is None or perm.shape != (b,):
            return _t(
                "expected a permutation, a ({b},) tensor of indices; got {got}",
                b=b,
                got=getattr(perm, "shape", out),
            )
        if perm.is_floating_point() or perm.dtype == torch.bool:
            return _t(
                "expected integer indices (torch.long), got {dtype}: x_0[perm] needs integers",
                dtype=perm.dtype,
            )
        perm = perm.long()
        if not torch.equal(perm.sort().values, torch.arange(b)):
            return _t("not a permutation: each index 0 .. B-1 must appear exactly once")
        m = torch.cdist(x_0, x_1).pow(2)
        best, mine = emd(m), float(m[perm, torch.arange(b)].mean())
        if abs(mine - best) <= 1e-6 * (1 + best):
            return None
        if abs(float(m[perm.argsort(), torch.arange(b)].mean()) - best) <= 1e-6 * (1 + best):
            return _t(
                "transposed: you return the inverse permutation (it reorders x_1); try "
                "perm.argsort()"
            )
        if torch.equal(perm, torch.arange(b)):
            return _t("you return the identity: that is the independent pairing, not OT")
        if abs(mine + emd(-m)) <= 1e-6 * (1 + best):
            return _t("wrong sign: your pairing maximises the total squared distance")
        return _t(
            "not optimal: mean cost {mine:.4f}, the optimal pairing costs {best:.4f} (use "
            "squared distances)",
            mine=mine,
            best=best,
        )

    def cases(g):
        out = []
        for _ in range(4):
            b = int(torch.randint(6, 40, (), generator=g))
            x_0 = torch.randn(b, 2, generator=g, dtype=torch.float64)
            x_1 = torch.randn(b, 2, generator=g, dtype=torch.float64) + torch.tensor(
                [3.0, 0.0], dtype=torch.float64
            )
            out.append(Case(f"B = {b}", (x_0, x_1), judge))
        return out

    return run_check(
        "ot_pairing",
        ot_pairing,
        cases,
        seed,
        quiet,
        _t("Minibatch OT in a few lines."),
        withheld=_OT,
    )


# The problem set of Section 6.2: references from POT (Bures-Wasserstein map, Sinkhorn, 1-D OT).

_OT_MAP = (
    *_OT,
    "fmlib.analytic.GaussianDisplacement.__init__",
    "fmlib.analytic.GaussianDisplacement.transport",
)


def _spd(g, d: int) -> Tensor:
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T / d + 0.2 * torch.eye(d, dtype=torch.float64)


def _sqrtm(s: Tensor) -> Tensor:
    w, q = torch.linalg.eigh(s)
    return q @ torch.diag(w.clamp_min(0).sqrt()) @ q.T


def check_gaussian_ot_map(
    gaussian_ot_map: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``gaussian_ot_map(x, m_0, s_0, m_1, s_1) -> T(x): (B, D)``, Brenier's map from N(m_0, s_0)
    to N(m_1, s_1). Section 6.2.1. The reference is POT's ``bures_wasserstein_mapping``."""
    import ot as pot

    def cases(g):
        out = []
        for _ in range(3):
            b, d = random_batch(g)
            m_0, m_1 = (torch.randn(d, generator=g, dtype=torch.float64) for _ in range(2))
            s_0, s_1 = _spd(g, d), _spd(g, d)
            x = torch.randn(b, d, generator=g, dtype=torch.float64)
            a, c = pot.gaussian.bures_wasserstein_mapping(
                m_0.numpy(), m_1.numpy(), s_0.numpy(), s_1.numpy()
            )
            ref = x @ torch.as_tensor(a) + torch.as_tensor(c)
            out.append(Case(f"D = {d}", (x, m_0, s_0, m_1, s_1), ref))
        return out

    def hints(out, case):
        x, m_0, s_0, m_1, s_1 = case.inputs
        got = shaped(out, x.shape)
        if got is None:
            return None
        root_0 = _sqrtm(s_0)
        naive = _sqrtm(s_1) @ torch.linalg.inv(root_0)  # pushes forward, but not symmetric
        if torch.allclose(got, m_1 + (x - m_0) @ naive.T):
            return _t(
                "S_1^{1/2} S_0^{-1/2} carries N(m_0, S_0) to N(m_1, S_1) too, but it is not "
                "symmetric, so not the gradient of a convex function: not the OT map"
            )
        if torch.allclose(got, m_1 + x @ naive.T):
            return _t("centre first: T(x) = m_1 + A (x - m_0)")
        return None

    return run_check(
        "gaussian_ot_map", gaussian_ot_map, cases, seed, quiet, hints=hints, withheld=_OT_MAP
    )


def check_sinkhorn_plan(
    sinkhorn_plan: Callable, seed: int | None = None, quiet: bool = False
) -> CheckResult:
    """``sinkhorn_plan(cost, eps, iters) -> (B, B)``: the entropic OT plan between two uniform
    batches for the cost matrix ``cost``, by Sinkhorn's iterations. Section 6.2.3. The reference
    is POT's ``ot.sinkhorn`` run to convergence."""
    import numpy as np
    import ot as pot

    def cases(g):
        out = []
        for _ in range(3):
            b = int(torch.randint(4, 10, (), generator=g))
            x_0 = torch.randn(b, 2, generator=g, dtype=torch.float64)
            x_1 = torch.randn(b, 2, generator=g, dtype=torch.float64) + 1.0
            cost = torch.cdist(x_0, x_1).pow(2)
            cost = cost / cost.max()
            eps = float(0.1 + 0.4 * torch.rand((), generator=g))
            w = np.full(b, 1 / b)
            ref = pot.sinkhorn(w, w, cost.numpy(), eps, numItermax=100_000, stopThr=1e-13)
            label = f"B = {b}, eps = {eps:.2f}"
            out.append(Case(label, (cost, eps, 2000), torch.as_tensor(ref)))
        return out

    def hints(out, case):
        cost, eps, _ = case.inputs
        got = shaped(out, cost.shape)
        if got is None:
            return None
        b = cost.shape[0]
        if torch.allclose(got, torch.exp(-cost / eps) / torch.exp(-cost / eps).sum()):
            return _t(
                "that is the kernel exp(-C / eps) normalised once: alternate the row and column "
                "scalings"
            )
        if torch.allclose(got.sum(1), torch.ones(b, dtype=got.dtype)):
            return _t(
                "the rows sum to 1; a plan between two uniform batches has rows and columns "
                "summing to 1 / B"
            )
        if not torch.allclose(got.sum(0), torch.full((b,), 1 / b, dtype=got.dtype), atol=1e-6):
            return _t(
                "the columns do not sum to 1 / B: end the iterations with the column scaling, or "
                "iterate longer"
            )
        return None

    return run_check(
        "sinkhorn_plan", sinkhorn_plan, cases, seed, quiet, hints=hints, withheld=_OT, atol=1e-7
    )


def check_w2_1d(w2_1d: Callable, seed: int | None = None, quiet: bool = False) -> CheckResult:
    """``w2_1d(a, b) -> float``: W2 between two equal-size 1-D samples. Section 6.2.1. The reference
    is POT's exact OT (``ot.emd2`` with squared distances)."""
    import numpy as np
    import ot as pot

    def cases(g):
        out = []
        for _ in range(4):
            n = int(torch.randint(5, 60, (), generator=g))
            a = torch.randn(n, generator=g, dtype=torch.float64)
            b = 2 * torch.rand(n, generator=g, dtype=torch.float64) + 0.5
            cost = (a[:, None] - b[None]).pow(2).numpy()
            w = np.full(n, 1 / n)
            ref = torch.tensor(float(pot.emd2(w, w, cost)) ** 0.5, dtype=torch.float64)
            out.append(Case(f"n = {n}", (a, b), ref))
        return out

    def hints(out, case):
        a, b = case.inputs
        got = as_tensor(out)
        if got is None or got.numel() != 1:
            return None
        got = float(got.double().reshape(()))
        w2 = (a.sort().values - b.sort().values).pow(2).mean()
        if abs(got - float(w2)) < 1e-6:
            return _t("that is W2 squared; return its square root")
        if abs(got - float((a - b).pow(2).mean().sqrt())) < 1e-6:
            return _t(
                "that pairs the samples as given; sort both first (in 1-D the monotone pairing "
                "is optimal)"
            )
        return None

    return run_check("w2_1d", w2_1d, cases, seed, quiet, hints=hints, withheld=_OT)
