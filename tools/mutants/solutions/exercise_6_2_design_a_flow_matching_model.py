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
]
