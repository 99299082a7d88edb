NOTEBOOK = "solutions/exercise_6_2_design_a_flow_matching_model.ipynb"

MUTANTS = [
    {
        "name": "time embedding: sines twice, no cosines",
        "edits": [
            ("15566967", "[torch.sin(args), torch.cos(args)]", "[torch.sin(args), torch.sin(args)]")
        ],
        "caught_by": "1998975f",
    },
    {
        "name": "the network ignores its max_freq (the embedding's default is used)",
        "edits": [
            (
                "e272ac0c",
                "time_embedding(t, self.time_dim, self.max_freq)",
                "time_embedding(t, self.time_dim)",
            )
        ],
        "caught_by": "f0d098e5",
    },
    {
        "name": "CFM loss regresses on x_0 - x_1 (the velocity reversed)",
        "edits": [("bf5efe44", "(model(x_t, t) - u_t)", "(model(x_t, t) + u_t)")],
        "caught_by": "3f82d8af",
    },
    {
        "name": "the training loop drops its path (always the straight one)",
        "edits": [
            ("ebc3a923", "cfm_loss(model, x_0, x_1, t, path)", "cfm_loss(model, x_0, x_1, t)")
        ],
        "caught_by": "0e9686b0",
    },
    {
        "name": "Euler evaluates at the end of each step",
        "edits": [("057870b7", "v(x, k * dt)", "v(x, (k + 1) * dt)")],
        "caught_by": "8aa786ac",
    },
    {
        "name": "the designed path's u_t misses the bend's derivative",
        "edits": [
            ("43f549aa", "return x_t, d + a * (1 - 2 * t)[:, None] * n_perp", "return x_t, d")
        ],
        "caught_by": "7a781f94",
    },
    {
        "name": "the part-4 model is trained on the straight path, not the design",
        "edits": [
            (
                "3c1dcc1e",
                "torch.Generator().manual_seed(1), path=path)",
                "torch.Generator().manual_seed(1))",
            )
        ],
        "caught_by": "3c1dcc1e",
    },
]

SETTINGS = {
    "be9c4d56": {"1000": "the alternative max_freq (a setting)"},
    "ffa6e0e9": {"128": "hidden units, an example design"},
    "81558282": {
        "256": "batch size (the task's setting)",
        "600": "training steps of the check (its setting)",
    },
    "04ab6749": {"1200": "training steps (a setting)", "4000": "data points (a setting)"},
    "93b32dc7": {"2000": "samples per draw (a setting)"},
    "7bcc51bb": {
        "16": "Euler steps of the first table (a setting)",
    },
    "48166f7d": {"4000": "pairs of the check (its setting)"},
    "d807c37b": {"4000": "fresh pairs (a setting)", "16": "Euler steps (a setting)"},
    "478e346c": {"90": "the rotation of n_perp (the path's definition)"},
    "eeaa78a8": {"32": "time_dim's default (a setting)"},
}
