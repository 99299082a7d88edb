NOTEBOOK = "solutions/6_3_mathematical_foundations.ipynb"

MUTANTS = [
    {
        "name": "the marginal field's divergence with the weights taken as constants",
        "edits": [
            ("a64c305d", "return (t * spread / s**2 - x.shape[1]) / s", "return -x.shape[1] / s")
        ],
        "caught_by": "5c2f1df1",
    },
    {
        "name": "the non-memorising field falls back on sigma_min = 0 (it copies the training set)",
        "edits": [
            (
                "249621cd",
                "return sigma_min_velocity(x, t_rows, points, 0.1)",
                "return sigma_min_velocity(x, t_rows, points, 0.0)",
            )
        ],
        "caught_by": "2b389cfc",
    },
    {
        "name": "sigma_min field: the conditional field of the sigma_min = 0 path kept",
        "edits": [
            (
                "4dd3dc2c",
                "(q @ points - (1 - sigma_min) * x) / sigma_t",
                "(q @ points - x) / sigma_t",
            )
        ],
        "caught_by": "ec31d544",
    },
    {
        "name": "marginal score divides by the standard deviation",
        "edits": [("a18a9f45", "(q @ points)) / s**2", "(q @ points)) / s")],
        "caught_by": "76e16841",
    },
    {
        "name": "CFM floor: the spread of the data points, not of the velocities",
        "edits": [
            (
                "98dee140",
                "cond = (points[None] - x[:, None]) / s[:, :, None]",
                "cond = points[None] + 0 * x[:, None]",
            )
        ],
        "caught_by": "1b846a93",
    },
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
        "name": "the exact field is built from the first 5 training points only",
        "edits": [
            (
                "3343c92d",
                "fm.analytic.empirical_target(points)",
                "fm.analytic.empirical_target(points[:5])",
            )
        ],
        "caught_by": "memorised-check",
    },
    {
        "name": "the exact field is built from a fresh sample, not the training points",
        "edits": [
            (
                "3343c92d",
                "fm.analytic.empirical_target(points)",
                "fm.analytic.empirical_target(fm.two_moons(50, generator=g))",
            )
        ],
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
    "bd8941b1": {
        "50": "the check's training points (fmlib.checks.section_6_3.check_generalising_field)",
        "500": "the check's noise and fresh samples",
        "0.05": "the check's criterion on the distance to the training points",
    },
    "2580a64e": {"500": "noise samples (a setting of the cell below)"},
    "cc9b8aa7": {
        "50": "training points (a setting of the cell below)",
        "500": "noise samples (a setting of the cell below)",
    },
    "dbe03de8": {"50": "training points (a setting of the cell below)"},
}
