"""Checks for the exercises of Section 6.2: kinetic energy and minibatch OT."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._core import Case, CheckResult, as_tensor, random_batch, run_check


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
            out.append(Case("straight lines", (straight, ts), ref))
            # a piecewise-straight wiggle: each segment's energy |dx|^2 / dt, in closed form
            wiggle = straight + torch.randn(k, b, d, generator=g, dtype=torch.float64) * 0.3
            dx, dt = wiggle[1:] - wiggle[:-1], ts[1:] - ts[:-1]
            ref = sum(dx[i].pow(2).sum(1).mean() / dt[i] for i in range(k - 1)).reshape(())
            out.append(Case("zig-zag paths", (wiggle, ts), ref))
        return out

    def hints(out, case):
        got = as_tensor(out)
        if got is not None and got.numel() > 1:
            return f"expected one number (a float); got a tensor of shape {tuple(got.shape)}: average over particles and sum over steps"
        return None

    return run_check("kinetic_energy", kinetic_energy, cases, seed, quiet, hints=hints)


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
            return f"expected a permutation, a ({b},) tensor of indices; got {getattr(perm, 'shape', out)}"
        if perm.is_floating_point() or perm.dtype == torch.bool:
            return (
                f"expected integer indices (torch.long), got {perm.dtype}: x_0[perm] needs integers"
            )
        perm = perm.long()
        if not torch.equal(perm.sort().values, torch.arange(b)):
            return "not a permutation: each index 0 .. B-1 must appear exactly once"
        m = torch.cdist(x_0, x_1).pow(2)
        best, mine = emd(m), float(m[perm, torch.arange(b)].mean())
        if abs(mine - best) <= 1e-6 * (1 + best):
            return None
        if abs(float(m[perm.argsort(), torch.arange(b)].mean()) - best) <= 1e-6 * (1 + best):
            return "transposed: you return the inverse permutation (it reorders x_1); try perm.argsort()"
        if torch.equal(perm, torch.arange(b)):
            return "you return the identity: that is the independent pairing, not OT"
        if abs(mine + emd(-m)) <= 1e-6 * (1 + best):
            return "wrong sign: your pairing maximises the total squared distance"
        return f"not optimal: mean cost {mine:.4f}, the optimal pairing costs {best:.4f} (use squared distances)"

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

    return run_check("ot_pairing", ot_pairing, cases, seed, quiet, "Minibatch OT in a few lines.")
