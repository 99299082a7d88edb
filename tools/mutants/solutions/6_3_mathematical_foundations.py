NOTEBOOK = "solutions/6_3_mathematical_foundations.ipynb"

MUTANTS = [
    {
        "name": "posterior normalised over the batch instead of over the training points",
        "edits": [("9aea1d13", "(2 * (1 - t) ** 2), dim=1)", "(2 * (1 - t) ** 2), dim=0)")],
        "caught_by": "1b231368",
    },
    {
        "name": "marginal velocity without the 1 / (1 - t)",
        "edits": [
            ("e9438757", "return (weights @ points - x) / (1 - t)", "return weights @ points - x")
        ],
        "caught_by": "6d2164b8",
    },
    {
        "name": "fmlib's empirical target takes the nearest point instead of the posterior average",
        "patch": (
            "import torch\n"
            "import fmlib as fm\n"
            "def _nearest_target(points):\n"
            "    def field(x, t):\n"
            "        t = float(t)\n"
            "        nearest = points[torch.cdist(x, t * points).argmin(dim=1)]\n"
            "        return (nearest - x) / (1 - t)\n"
            "    return field\n"
            "fm.analytic.empirical_target = _nearest_target\n"
        ),
        "caught_by": "memorised-check",
    },
    {
        "name": "the posterior's variance is (1 - t), not (1 - t)^2",
        "patch": (
            "import torch\n"
            "import fmlib as fm\n"
            "def _wide_target(points):\n"
            "    def field(x, t):\n"
            "        t = float(t)\n"
            "        weights = torch.softmax(-torch.cdist(x, t * points).pow(2) / (2 * (1 - t)), dim=1)\n"
            "        return (weights @ points - x) / (1 - t)\n"
            "    return field\n"
            "fm.analytic.empirical_target = _wide_target\n"
        ),
        "caught_by": "memorised-check",
    },
]

TRY_ITS = [
    {
        "name": "stop at t = 0.9",
        "prompt": "8691d182",
        "edits": [("3343c92d", "t1=0.999", "t1=0.9")],
        "run_to": "3343c92d",
        "expect": [("0.096", "float(torch.cdist(x_1, 0.9 * points).min(dim=1).values.median())")],
    },
]

SETTINGS = {
    "dbe03de8": {"50": "training points (a setting of the cell below)"},
}
