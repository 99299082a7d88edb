"""fmlib.training.Checkpoints: a train_cfm callback that records a measurement at each checkpoint."""

import pytest
import torch

import fmlib as fm


def test_checkpoints_record_each_callback_step_on_the_ema_weights():
    torch.manual_seed(0)
    model = fm.VectorFieldMLP(hidden=16, depth=2)
    data = fm.two_moons(256, torch.Generator().manual_seed(0))
    seen = []

    def measure(m):
        seen.append(m.training)
        return {"w": float(next(m.parameters()).detach().sum())}

    log = fm.training.Checkpoints(measure)
    fm.train_cfm(
        model, data, steps=20, batch_size=32, callback=log, callback_every=5, progress=False
    )
    assert log.column("step") == [5, 10, 15, 20]
    assert seen == [False] * 4  # measured in eval mode
    # the last checkpoint sees the EMA weights, which train_cfm hands back at the end
    assert log.column("w")[-1] == pytest.approx(float(next(model.parameters()).detach().sum()))
    with pytest.raises(TypeError):
        fm.training.Checkpoints("not a function")
