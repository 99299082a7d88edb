NOTEBOOK = "solutions/6_4_flow_matching_and_diffusion.ipynb"

MUTANTS = [
    {
        "name": "score to velocity: wrong sign of the sigma-dot term",
        "edits": [("4cdaaca3", "- d_sigma_t * sigma_t) * score", "+ d_sigma_t * sigma_t) * score")],
        "caught_by": "ffccabe8",
    },
    {
        "name": "velocity to score: forgets to subtract the drift term",
        "edits": [("225e5f98", "(velocity - d_alpha_t / alpha_t * x)", "(velocity)")],
        "caught_by": "cef1b094",
    },
    {
        "name": "fmlib's score-to-velocity conversion flips the score's sign",
        "patch": (
            "import fmlib as fm\n"
            "_convert = fm.diffusion.score_to_velocity\n"
            "fm.diffusion.score_to_velocity = lambda score, *a, **k: _convert(-score, *a, **k)\n"
        ),
        "caught_by": "68394e86",
    },
]
