"""fmlib.ot.flow_metrics and share_in_region on flows with closed-form trajectories."""

import math

import pytest
import torch

from fmlib import ot


def rotation(x, t):
    return torch.stack([-x[:, 1], x[:, 0]], dim=1)  # x_t = R(t) x_0: arcs of angle 1


def test_flow_metrics_of_a_rotation():
    x_0 = torch.randn(300, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    row = ot.flow_metrics(rotation, x_0, steps=50, inside=lambda x: x[:, 0] > 0, region="right")
    # chord over arc of a unit-angle arc: 2 sin(1/2); speed |x_0| for unit time: energy E|x_0|^2
    assert row["straightness"] == pytest.approx(2 * math.sin(0.5), abs=1e-3)
    assert row["energy"] == pytest.approx(float(x_0.pow(2).sum(1).mean()), rel=1e-3)
    ends = float((x_0[:, 0] * math.cos(1) - x_0[:, 1] * math.sin(1) > 0).double().mean())
    assert row["ends in right"] == pytest.approx(ends, abs=1e-12)
    assert 0 < row["time in right"] < 1
    assert row["dopri5 NFE"] > 0


def test_flow_metrics_of_a_constant_field():
    x_0 = torch.zeros(10, 2, dtype=torch.float64)
    c = torch.tensor([3.0, 4.0], dtype=torch.float64)
    row = ot.flow_metrics(lambda x, t: c.expand_as(x), x_0)
    assert row["straightness"] == pytest.approx(1.0, abs=1e-12)
    assert row["energy"] == pytest.approx(25.0, rel=1e-12)
    assert set(row) == {"energy", "straightness", "dopri5 NFE"}


def test_share_in_region_of_points_crossing_a_half_plane():
    # B points at x = b/B - 1 ... moving right at unit speed: at time s the share with x > 0 is known
    b = 1000
    start = torch.arange(b, dtype=torch.float64) / b - 1.0
    ts = torch.linspace(0, 1, 11, dtype=torch.float64)
    xs = torch.stack([torch.stack([start + s, torch.zeros(b, dtype=torch.float64)], 1) for s in ts])
    share = ot.share_in_region(xs, lambda x: x[:, 0] > 0)
    torch.testing.assert_close(share, ts.clamp(max=1.0), atol=2.0 / b, rtol=0)
