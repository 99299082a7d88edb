NOTEBOOK = "solutions/capstone_checkerboard.ipynb"

MUTANTS = [
    {
        "name": "one-step sampler: independent pairs (plain I-CFM)",
        "edits": [("2d0095a1", 'coupling="ot"', 'coupling="independent"')],
        "caught_by": "f29aaca7",
    },
    {
        "name": "one-step sampler: a tenth of the training budget",
        "edits": [("2d0095a1", "steps=steps, seed=seed", "steps=steps // 10, seed=seed")],
        "caught_by": "f29aaca7",
    },
    {
        "name": "the measurement trains both rows with OT pairs",
        "edits": [("86d2617a", "coupling=coupling, steps=2000", 'coupling="ot", steps=2000')],
        "caught_by": "ec51aecf",
    },
    {
        "name": "the measurement's adaptive solve stops halfway (t1 = 0.5)",
        "edits": [
            (
                "86d2617a",
                'method="dopri5", rtol=1e-3, atol=1e-3)',
                'method="dopri5", t1=0.5, rtol=1e-3, atol=1e-3)',
            )
        ],
        "caught_by": "ec51aecf",
    },
]

SETTINGS = {
    "cc69dd66": {"90": "the estimated time for the notebook, in minutes"},
    "e458f9a4": {"64": "fmlib's OT block size (train_cfm's ot_block_size), a setting"},
    "e8590402": {"2000": "points the check compares (fmlib.checks.capstone.ONE_STEP_POINTS)"},
    "6bd6a508": {
        "2000": "training steps and noise points, settings of the cell below",
        "256": "batch size, fmlib's default",
        "16": "RK4 steps for the straightness, a setting of the cell below",
    },
    "8cdc3faf": {"400": "the report's length, in words"},
    "28aac33e": {
        "64": "fmlib's OT block size, a setting",
        "16": "block sizes for a next experiment, proposed",
        "256": "block sizes for a next experiment, proposed",
    },
}
