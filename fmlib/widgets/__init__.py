"""Interactive explorers for the Chapter 6 notebooks: scenes in one shared shell.

An explorer is a ``Scene`` (draws itself once; ``update(state)`` moves its artists and returns
those it changed) shown by ``Explorer(scene)``, the shell that builds the controls, Play, blitted
PNG frames and the static fallbacks (``animate()``, ``frames()``, an ``image/png`` still). One small
module per scene; the README's "How to add an explorer" shows a whole one. ipywidgets is imported
only when an explorer is built, so ``import fmlib.widgets`` works anywhere. Sections 6.1-6.5.
"""

from .legacy import (
    conditional_energy,
    crossing_fraction,
    divergence_explorer,
    flow_explorer,
    guidance_explorer,
    hutchinson_explorer,
    path_comparison,
    solver_explorer,
)
from .shell import DPI, Explorer, Scene, TimeAxis, frame_update_times

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
    "frame_update_times",
    "conditional_energy",
    "crossing_fraction",
]
