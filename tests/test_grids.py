"""fmlib.grids: pure grid evaluation (no matplotlib), against closed forms and scipy."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from fmlib import fields, grids


def test_grid_rows_are_y_and_lims_forms():
    g = grids.grid(((0.0, 2.0), (-1.0, 1.0)), n=3)
    assert g[:3, 1].tolist() == [-1.0, -1.0, -1.0] and g[:3, 0].tolist() == [0.0, 1.0, 2.0]
    assert grids.as_lims(2) == ((-2.0, 2.0), (-2.0, 2.0))
    assert grids.as_lims((0, 1)) == ((0.0, 1.0), (0.0, 1.0))
    with pytest.raises(ValueError, match="lims"):
        grids.as_lims("wide")
    with pytest.raises(ValueError, match="lo < hi"):
        grids.as_lims((1, 0))


def test_field_divergence_and_curl_on_grid_match_closed_forms():
    v = fields.source_sink(radius=1.5) + fields.rotation(0.5)
    g = grids.grid(2.0, 9)
    r2 = g.pow(2).sum(1)
    uv = grids.field_on_grid(v, g, 0.3)
    expected = g * (1 - r2 / 2.25)[:, None] + 0.5 * torch.stack([-g[:, 1], g[:, 0]], 1)
    np.testing.assert_allclose(uv, expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(
        grids.divergence_on_grid(v, 0.3, 2.0, 9), (2 - 4 * r2 / 2.25).reshape(9, 9), atol=1e-5
    )
    np.testing.assert_allclose(grids.curl_on_grid(v, 0.3, 2.0, 9), np.full((9, 9), 1.0))


def test_density_on_grid_and_histogram_density():
    cov = np.array([[1.0, 0.3], [0.3, 0.5]])
    chol = torch.linalg.cholesky(torch.tensor(cov, dtype=torch.float32))
    log_p = torch.distributions.MultivariateNormal(torch.zeros(2), scale_tril=chol).log_prob
    img = grids.density_on_grid(log_p, 3.0, 7)
    pts = grids.grid(3.0, 7).numpy()
    np.testing.assert_allclose(img.ravel(), multivariate_normal([0, 0], cov).pdf(pts), rtol=1e-5)
    # all the mass in one cell of a 2 x 2 histogram over [0, 2]^2: density 1 / (cell area 1)
    h = grids.histogram_density(torch.tensor([[1.5, 0.5], [1.6, 0.7]]), (0.0, 2.0), bins=2)
    np.testing.assert_allclose(h, [[0.0, 1.0], [0.0, 0.0]])  # rows = y: low y, high x
    assert math.isclose(h.sum() * 1.0, 1.0)


def test_grids_never_imports_matplotlib():
    code = "import sys, fmlib.grids; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
