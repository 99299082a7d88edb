"""fmlib.models: the MLP vector field, its time embedding, class conditioning, save / load."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fmlib import models


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    kw = {"hidden": 16, "depth": 2, **kw}
    return models.VectorFieldMLP(**kw)


@pytest.mark.parametrize("dim", [1, 2, 5])
@pytest.mark.parametrize("batch", [1, 3, 64])
@pytest.mark.parametrize("depth", [1, 3])
def test_output_shape_and_dtype(dim, batch, depth):
    m = _model(dim=dim, depth=depth)
    out = m(torch.randn(batch, dim), torch.rand(batch))
    assert out.shape == (batch, dim) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_float_t_equals_tensor_t():
    m = _model()
    x = torch.randn(8, 2)
    torch.testing.assert_close(m(x, 0.3), m(x, torch.full((8,), 0.3)), rtol=0, atol=0)
    torch.testing.assert_close(m(x, 0.3), m(x, torch.tensor(0.3)), rtol=0, atol=0)


def test_rows_are_independent():
    """Row b of a batch equals the model on row b alone (no mixing across the batch)."""
    m = _model()
    x, t = torch.randn(6, 2), torch.rand(6)
    out = m(x, t)
    for b in range(6):
        torch.testing.assert_close(out[b], m(x[b : b + 1], t[b : b + 1])[0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dim, max_freq", [(2, 1000.0), (8, 100.0), (32, 1000.0)])
def test_time_embedding_matches_formula(dim, max_freq):
    emb = models.SinusoidalTimeEmbedding(dim, max_freq=max_freq)
    t = torch.tensor([0.0, 0.013, 0.25, 0.5, 0.999, 1.0])
    half = dim // 2
    # w_k geometric from 1 to max_freq: w_k = max_freq ** (k / (half - 1)) (just 1 when half = 1)
    w = np.array([max_freq ** (k / (half - 1)) if half > 1 else 1.0 for k in range(half)])
    args = t.double().numpy()[:, None] * w[None, :]
    expected = np.concatenate([np.sin(args), np.cos(args)], axis=1)
    out = emb(t)
    assert out.shape == (6, dim)
    np.testing.assert_allclose(out.double().numpy(), expected, atol=2e-4, rtol=1e-4)


def test_time_embedding_rejects_odd_dim():
    with pytest.raises(ValueError, match="even"):
        models.SinusoidalTimeEmbedding(5)


def test_time_changes_the_output():
    m = _model()
    x = torch.randn(4, 2)
    assert not torch.allclose(m(x, 0.1), m(x, 0.9))


def test_class_conditioning_with_null_class():
    m = _model(num_classes=3)
    assert m.null_class == 3
    assert m.class_embed.num_embeddings == 4  # 3 classes + the null class
    x, t = torch.randn(5, 2), torch.rand(5)
    null = torch.full((5,), 3, dtype=torch.long)
    torch.testing.assert_close(m(x, t), m(x, t, null), rtol=0, atol=0)
    outs = [m(x, t, torch.full((5,), c, dtype=torch.long)) for c in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.allclose(outs[i], outs[j])
    # the class embedding is added to the time embedding: give class 0 the embedding that moves
    # time 0.2 to time 0.7 and the null class none, and class 0 at t = 0.2 is the null class at 0.7
    with torch.no_grad():
        shift = m.time_embed(torch.tensor([0.7])) - m.time_embed(torch.tensor([0.2]))
        m.class_embed.weight[0] = shift[0]
        m.class_embed.weight[m.null_class] = 0.0
    zeros = torch.zeros(5, dtype=torch.long)
    torch.testing.assert_close(m(x, 0.2, zeros), m(x, 0.7, null), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(m(x, 0.2, zeros), m(x, 0.2, null))


def test_class_errors():
    m = _model(num_classes=3)
    x = torch.randn(4, 2)
    with pytest.raises(TypeError, match="y must"):
        m(x, 0.5, torch.zeros(4))  # float labels: the wrong type
    with pytest.raises(ValueError, match="y must"):
        m(x, 0.5, torch.zeros(3, dtype=torch.long))  # wrong batch
    with pytest.raises(ValueError, match="y must"):
        m(x, 0.5, torch.tensor([0, 1, 2, 4]))  # beyond the null class
    with pytest.raises(ValueError, match="y must"):
        m(x, 0.5, torch.tensor([0, -1, 2, 3]))
    with pytest.raises(ValueError, match="no class conditioning"):
        _model()(x, 0.5, torch.zeros(4, dtype=torch.long))


def test_guided_field_is_the_cfg_combination():
    m = _model(num_classes=2)
    x, t = torch.randn(6, 2), 0.4
    null = torch.full((6,), 2, dtype=torch.long)
    cond = torch.full((6,), 1, dtype=torch.long)
    v_null, v_cond = m(x, t, null), m(x, t, cond)
    for w in (0.0, 1.0, 2.5):
        torch.testing.assert_close(
            models.guided_field(m, 1, w)(x, t), (1 - w) * v_null + w * v_cond, rtol=1e-5, atol=1e-6
        )
    torch.testing.assert_close(
        models.guided_field(m, cond, 3.0)(x, t),
        v_null + 3.0 * (v_cond - v_null),
        rtol=1e-5,
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="class-conditional"):
        models.guided_field(_model(), 0)
    with pytest.raises(ValueError, match="y must"):
        models.guided_field(m, 2)


def test_save_load_round_trip(tmp_path):
    src, dst = _model(seed=1, num_classes=2), _model(seed=2, num_classes=2)
    assert not all(
        torch.equal(a, b) for a, b in zip(src.parameters(), dst.parameters(), strict=True)
    )
    file = tmp_path / "model.pt"
    models.save_model(src, str(file))
    state = torch.load(str(file), weights_only=True)  # plain tensors only, no pickled code
    assert set(state) == set(src.state_dict())
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    models.load_model(dst, str(file))
    for (ka, a), (kb, b) in zip(src.state_dict().items(), dst.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(a, b)
    x, t = torch.randn(5, 2), torch.rand(5)
    assert torch.equal(src(x, t), dst(x, t))


def test_reference_mlp_feeds_raw_time():
    torch.manual_seed(0)
    m = models.ReferenceMLP(dim=3, hidden=8)
    x, t = torch.randn(4, 3), torch.rand(4)
    out = m(x, t)
    assert out.shape == (4, 3)
    # the forward pass written out in NumPy from the weights: [x, t] -> 3 x (Linear, SELU) -> Linear
    weights = [(lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy())
               for lin in m.net if isinstance(lin, torch.nn.Linear)]  # fmt: skip
    alpha, scale = 1.6732632423543772, 1.0507009873554805  # SELU's constants (Klambauer et al.)
    h = np.concatenate([x.double().numpy(), t.double().numpy()[:, None]], axis=1)
    for i, (w, b) in enumerate(weights):
        h = h @ w.T + b
        if i < len(weights) - 1:
            h = scale * np.where(h > 0, h, alpha * (np.exp(h) - 1))
    np.testing.assert_allclose(out.detach().numpy(), h, rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_parameter():
    m = _model(num_classes=2)
    x, t = torch.randn(16, 2), torch.rand(16)
    y = torch.randint(0, 3, (16,))
    m(x, t, y).pow(2).sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_dtype_mismatch_is_a_clear_error_and_double_models_work():
    m = _model()
    x = torch.randn(3, 2, dtype=torch.float64)
    with pytest.raises(TypeError, match="dtype"):
        m(x, 0.5)
    assert m.double()(x, 0.5).dtype == torch.float64


def test_time_embedding_frequencies_span_one_to_max_freq():
    emb = models.SinusoidalTimeEmbedding(16, max_freq=500.0)
    np.testing.assert_allclose(emb.freqs[0].item(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(emb.freqs[-1].item(), 500.0, rtol=1e-5)
    ratios = (emb.freqs[1:] / emb.freqs[:-1]).numpy()
    np.testing.assert_allclose(ratios, math.exp(math.log(500.0) / 7), rtol=1e-5)


def test_default_time_embedding_spans_frequencies_one_to_thirty():
    """The default keeps the field smooth in t (issue #7: 1 ... 1000 cost dopri5 4x the NFE)."""
    freqs = models.VectorFieldMLP().time_embed.freqs
    assert freqs[0].item() == pytest.approx(1.0) and freqs[-1].item() == pytest.approx(30.0)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        models.VectorFieldMLP(2, 64)
    with pytest.raises(TypeError):
        models.SinusoidalTimeEmbedding(16, 500.0)
