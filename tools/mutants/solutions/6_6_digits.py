NOTEBOOK = "solutions/6_6_digits.ipynb"

MUTANTS = [
    {
        "name": "the midpoint step takes the slope at the start of the step (Euler)",
        "edits": [
            (
                "6f1a0c06",
                "x = x + dt * v(x + 0.5 * dt * v(x, t), t + 0.5 * dt)",
                "x = x + dt * v(x, t)",
            )
        ],
        "caught_by": "6f1a0c07",
    },
    {
        "name": "the midpoint slope is taken at the start time",
        "edits": [
            (
                "6f1a0c06",
                "x = x + dt * v(x + 0.5 * dt * v(x, t), t + 0.5 * dt)",
                "x = x + dt * v(x + 0.5 * dt * v(x, t), t)",
            )
        ],
        "caught_by": "6f1a0c07",
    },
    {
        "name": "the sampler stops halfway, at t = 0.5",
        "edits": [("6f1a0c06", "x, dt = x_0, 0.5", "x, dt = x_0, 0.25")],
        "caught_by": "6f1a0c07",
    },
    {
        "name": "fmlib's midpoint step is Euler's",
        "patch": "import fmlib as fm\nfm.solvers.FIXED_STEP['midpoint'] = fm.solvers.euler_step\n",
        "caught_by": "6f1a0c09",
    },
]

TRY_ITS = []

SETTINGS = {
    "6f1a0c03": {"50": "samples per class the field is built for (a setting of the cell below)"},
    "6f1a0c05": {
        "500": "noise points, 50 per class (a setting of the cell above)",
        "64": "pixels per 8×8 image",
    },
}
