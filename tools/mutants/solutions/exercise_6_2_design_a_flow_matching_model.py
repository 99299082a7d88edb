NOTEBOOK = "solutions/exercise_6_2_design_a_flow_matching_model.ipynb"

MUTANTS = [
    {
        "name": "time embedding: sines twice, no cosines",
        "edits": [
            ("b17affe8", "[torch.sin(args), torch.cos(args)]", "[torch.sin(args), torch.sin(args)]")
        ],
        "caught_by": "7459df5a",
    },
    {
        "name": "CFM loss regresses on x_0 - x_1 (the velocity reversed)",
        "edits": [("15eb3abe", "- (x_1 - x_0)).pow(2)", "- (x_0 - x_1)).pow(2)")],
        "caught_by": "e47b4e8e",
    },
    {
        "name": "Euler evaluates at the end of each step",
        "edits": [("a35ada6d", "v(x, k * dt)", "v(x, (k + 1) * dt)")],
        "caught_by": "e3920dac",
    },
    {
        "name": "curved path: d/dt of t(1-t) taken as (1-t)",
        "edits": [("167e47db", "(1 - 2 * t)[:, None]", "(1 - t)[:, None]")],
        "caught_by": "493fb510",
    },
    {
        "name": "fmlib's curved path ignores its bend (a = 0: the straight path)",
        "patch": (
            "import fmlib as fm\n"
            "_Curved = fm.CurvedPath\n"
            "fm.CurvedPath = lambda a=1.0: _Curved(a=0.0)\n"
        ),
        "caught_by": "c3c814c9",
    },
    {
        "name": "the straight row samples the curved model",
        "edits": [
            (
                "c3c814c9",
                '(("straight", models[1000.0]), ("curved", curved))',
                '(("straight", curved), ("curved", curved))',
            )
        ],
        "caught_by": "c3c814c9",
    },
]

SETTINGS = {
    "9b213104": {"128": "hidden units, an example design"},
    "ad920f60": {
        "256": "batch size (the task's setting)",
        "600": "training steps of the check (its setting)",
    },
    "0e20f06c": {"2000": "samples per row (a setting of the cell below)"},
    "12ae3296": {"90": "the rotation of n_perp, +90 degrees (the path's definition)"},
    "453681d3": {"90": "the rotation of n_perp, +90 degrees (the path's definition)"},
    "6b292f8c": {
        "0.25": "the gap's threshold distance (a setting of the cell below)",
        "4000": "fresh data points for the gap test (a setting)",
        "32": "Euler steps (a setting of the cell below)",
    },
}
