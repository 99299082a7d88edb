"""Interactive explorers for the Chapter 6 notebooks: scenes in one shared shell.

An explorer is a ``Scene`` (draws itself once; ``update(state)`` moves its artists and returns
those it changed) shown by ``Explorer(scene)``, the shell that builds the controls, Play, blitted
PNG frames and the static fallbacks (``animate()``, ``frames()``, an ``image/png`` still). One small
module per scene; the README's "How to add an explorer" shows a whole one. ipywidgets is imported
only when an explorer is built, so ``import fmlib.widgets`` works anywhere. Sections 6.1-6.6.
"""

from ..ot import conditional_energy, crossing_fraction
from .diffusion import diffusion_explorer
from .digits import digits_explorer
from .divergence import divergence_explorer
from .flow import flow_explorer
from .guidance import guidance_explorer
from .hutchinson import hutchinson_explorer
from .paths import path_comparison
from .posterior import posterior_explorer
from .shell import DPI, Explorer, Scene, TimeAxis, frame_update_times
from .solver import solver_explorer

__all__ = [
    "Scene",
    "TimeAxis",
    "Explorer",
    "DPI",
    "flow_explorer",
    "path_comparison",
    "divergence_explorer",
    "solver_explorer",
    "hutchinson_explorer",
    "guidance_explorer",
    "posterior_explorer",
    "diffusion_explorer",
    "digits_explorer",
    "frame_update_times",
    "conditional_energy",  # now in fmlib.ot; kept here for older notebooks
    "crossing_fraction",
]
