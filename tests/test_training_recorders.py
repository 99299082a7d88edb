"""The training callbacks LossGapRecorder and NFERecorder, against direct computations."""

import torch

import fmlib as fm


def test_loss_gap_recorder_rows():
    g = torch.Generator().manual_seed(0)
    x_t, t = torch.randn(400, 2, generator=g), torch.rand(400, generator=g)
    u_cond, u_t = torch.randn(400, 2, generator=g), torch.randn(400, 2, generator=g)
    model = lambda x, t: 0.5 * x  # noqa: E731
    rec = fm.training.LossGapRecorder(x_t, t, u_cond, u_t)
    rec(7, 0.0, model)
    row = rec.rows[0]
    v = 0.5 * x_t
    l_cfm = ((v - u_cond) ** 2).sum(1).mean().item()
    l_fm = ((v - u_t) ** 2).sum(1).mean().item()
    assert row["step"] == 7
    assert abs(row["L_CFM"] - l_cfm) < 1e-5 and abs(row["L_FM"] - l_fm) < 1e-5
    assert abs(row["L_CFM - L_FM"] - (l_cfm - l_fm)) < 1e-5
    cross = -2 * ((v - u_t) * (u_cond - u_t)).sum(1)
    assert abs(row["std. error"] - cross.std().item() / 20) < 1e-6


def test_nfe_recorder_grows_with_a_stiffer_field():
    x_0 = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    rec = fm.training.NFERecorder(x_0)
    rec(0, 0.0, lambda x, t: -x)
    rec(1, 0.0, lambda x, t: -30 * x)  # a stiff linear field: dopri5 needs many more steps
    assert rec.rows[0]["step"] == 0 and rec.rows[1]["step"] == 1
    assert rec.rows[1]["NFE"] > 3 * rec.rows[0]["NFE"]
