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
        "name": "the check's reference is the four-step Euler solve it should beat",
        "patch": (
            "from fmlib.checks import section_6_6\n"
            "section_6_6.REFERENCE = {'method': 'euler', 'steps': 4}\n"
            "import fmlib as fm\n"
            "_solve = fm.solve\n"
            "def _heun_as_midpoint(v, x, method='euler', steps=100, **kw):\n"
            "    return _solve(v, x, method='midpoint' if method == 'heun' else method, steps=steps, **kw)\n"
            "fm.solve = _heun_as_midpoint\n"
        ),
        "caught_by": "6f1a0c09",
    },
]

TRY_ITS = []

SETTINGS = {}
