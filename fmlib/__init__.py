"""fmlib: the small library behind "Flow Matching, Interactively" (Chapter 6).

Compute layers (pure torch): data, paths, couplings, models, training, solvers, likelihood, ot,
diffusion, analytic, fields. Drawing (``plotting``) and wiring (``widgets``) are imported on demand so
that the compute layers never import matplotlib or ipywidgets.
"""

__version__ = "0.5.0"

from . import (
    analytic,
    couplings,
    data,
    diffusion,
    fields,
    grids,
    i18n,
    likelihood,
    models,
    ot,
    paths,
    runtime,
    solvers,
    tables,
    training,
)
from ._validate import VectorField
from .data import StandardGaussian, two_moons
from .models import VectorFieldMLP
from .paths import AffinePath, CurvedPath, PathSample, cosine_path, linear_path, vp_path
from .runtime import configure, seed_everything
from .solvers import ODESolution, solve
from .training import cfm_loss, train_cfm, train_cnf_mle

__all__ = [
    "analytic",
    "couplings",
    "data",
    "diffusion",
    "fields",
    "grids",
    "i18n",
    "likelihood",
    "models",
    "ot",
    "paths",
    "runtime",
    "solvers",
    "tables",
    "training",
    "StandardGaussian",
    "two_moons",
    "VectorField",
    "VectorFieldMLP",
    "AffinePath",
    "CurvedPath",
    "PathSample",
    "cosine_path",
    "linear_path",
    "vp_path",
    "configure",
    "seed_everything",
    "ODESolution",
    "solve",
    "cfm_loss",
    "train_cfm",
    "train_cnf_mle",
]


def __getattr__(name: str):
    # plotting and widgets pull in matplotlib / ipywidgets: load them only when asked for.
    if name in ("plotting", "widgets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'fmlib' has no attribute {name!r}")
