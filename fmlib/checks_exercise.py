"""Deprecated: the Exercise 6.2 checks are ``fmlib.checks.exercise_6_2``.

Kept for student notebooks handed out with fmlib 0.2, which import
``from fmlib import checks_exercise as checks``.
"""

import warnings

from .checks.exercise_6_2 import *  # noqa: F403
from .checks.exercise_6_2 import __all__  # noqa: F401

warnings.warn(
    "fmlib.checks_exercise is now fmlib.checks.exercise_6_2: "
    "use `from fmlib.checks import exercise_6_2 as checks`",
    DeprecationWarning,
    stacklevel=2,
)
