"""Friendly checks for the exercise notebooks: a ✔ or a specific hint, never an exception.

Each ``check_*`` calls a student's function on freshly randomised cases (a new seed every call,
so no hard-coded answer passes), compares it with an independent reference (a closed form, or
fmlib where the closed form is fmlib's job) and prints one line: ``✔ ...`` or a hint saying what
is wrong (not implemented yet, NaN, wrong shape, transposed, wrong sign, off by a constant
factor in every case, a constant or the input returned, an input changed in place, a loss without
gradient). fmlib's own implementation of a task is withheld while the student's function runs
(``run_check(..., withheld=...)``): calling it gets a kind "write this one yourself". Whatever the
student's code does (``SystemExit`` included; ``KeyboardInterrupt`` still interrupts), the check
returns a ``CheckResult`` (truthy when passed) and never raises; grading cells ``assert`` it. The global
random state is left untouched; ``CheckResult.seed`` replays the same cases. Exercises of
Sections 6.1-6.5, one module each (``section_6_1`` ... ``section_6_5``), and the chapter's
Exercise 6.2 in ``exercise_6_2``, the capstone's one-step sampler in ``capstone``, all written as ``Case`` objects run by ``_core.run_check``.
"""

from __future__ import annotations

from ._core import Case, CheckResult, compare, run_check
from .capstone import check_one_step_sampler
from .section_6_1 import (
    check_divergence,
    check_divergence_estimator,
    check_euler_log_density,
    check_hutchinson,
    check_rotating_cnf_log_prob,
)
from .section_6_2 import (
    check_gaussian_ot_map,
    check_hedged_plan,
    check_kinetic_energy,
    check_ot_pairing,
    check_sinkhorn_plan,
    check_w2_1d,
)
from .section_6_3 import (
    check_cfm_floor,
    check_generalising_field,
    check_marginal_divergence,
    check_marginal_score,
    check_marginal_velocity,
    check_posterior,
    check_sigma_min_velocity,
)
from .section_6_4 import (
    check_cosine_dsm_loss,
    check_eps_to_velocity,
    check_gaussian_velocity,
    check_posterior_covariance,
    check_score_to_velocity,
    check_time_grid,
    check_velocity_to_score,
)
from .section_6_5 import (
    check_gap_avoiding_path,
    check_guided_velocity,
    check_guided_velocity_gamma,
    check_heun_sample,
    check_heun_step,
    check_rk2_step,
    check_unconditional_velocity,
)

__all__ = [
    "Case",
    "CheckResult",
    "compare",
    "run_check",
    "check_divergence",
    "check_hutchinson",
    "check_rotating_cnf_log_prob",
    "check_euler_log_density",
    "check_divergence_estimator",
    "check_kinetic_energy",
    "check_ot_pairing",
    "check_gaussian_ot_map",
    "check_sinkhorn_plan",
    "check_w2_1d",
    "check_hedged_plan",
    "check_marginal_velocity",
    "check_posterior",
    "check_sigma_min_velocity",
    "check_marginal_score",
    "check_cfm_floor",
    "check_generalising_field",
    "check_marginal_divergence",
    "check_score_to_velocity",
    "check_velocity_to_score",
    "check_eps_to_velocity",
    "check_posterior_covariance",
    "check_one_step_sampler",
    "check_gaussian_velocity",
    "check_cosine_dsm_loss",
    "check_time_grid",
    "check_heun_step",
    "check_guided_velocity",
    "check_heun_sample",
    "check_rk2_step",
    "check_guided_velocity_gamma",
    "check_unconditional_velocity",
    "check_gap_avoiding_path",
]
