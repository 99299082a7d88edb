"""Mutants, Try its and settings of notebook 6.1 (format: CONTRACT of the mutation runs)."""

NOTEBOOK = "notebooks/6_1_cnf_to_flow_matching.ipynb"

MUTANTS = [
    {
        "name": "RK4 is really second order (Heun's step under RK4's name)",
        "patch": "import fmlib as fm\nfm.solvers.FIXED_STEP['rk4'] = fm.solvers.heun_step\n",
        "caught_by": "e7dc9c71",
    },
    {
        "name": "change of variables with the divergence's sign flipped",
        "patch": (
            "import fmlib as fm\n"
            "_exact = fm.likelihood._exact\n"
            "fm.likelihood._exact = lambda out, x, create_graph: -_exact(out, x, create_graph)\n"
        ),
        "caught_by": "1fb3acfd",
    },
    {
        "name": "source/sink field twice as strong as documented",
        "patch": (
            "import fmlib as fm\n"
            "_ss = fm.fields.source_sink\n"
            "fm.fields.source_sink = lambda radius=1.5, strength=1.0: _ss(radius, 2 * strength)\n"
        ),
        "caught_by": "source-sink-sign",
    },
    {
        "name": "log_prob returns NaN silently where the flow blows up",
        "patch": (
            "import fmlib as fm\n"
            "fm.likelihood._solve_or_explain = lambda field, z, **options: fm.solvers.solve(field, z, **options)\n"
        ),
        "caught_by": "outside-image",
        "error": "ValueError",
    },
    {
        "name": "Hutchinson probes with E[eps eps^T] = I / 2 (a biased estimate)",
        "patch": (
            "import fmlib as fm\n"
            "_h = fm.likelihood._hutchinson\n"
            "fm.likelihood._hutchinson = lambda *a, **k: 0.5 * _h(*a, **k)\n"
        ),
        "caught_by": "hutch-unbiased",
    },
    {
        "name": "the solver's adjoint flag is ignored (always back-propagates)",
        "patch": (
            "import fmlib as fm\n"
            "_solve = fm.solve\n"
            "fm.solve = lambda *a, adjoint=False, **k: _solve(*a, **k)\n"
        ),
        "caught_by": "memory-table",
    },
    {
        "name": "peak memory counted as the total saved (never sees a graph freed)",
        "patch": "import fmlib as fm\nfm.runtime.saved_tensor_peak_bytes = fm.runtime.saved_tensor_bytes\n",
        "caught_by": "memory-table",
    },
    {
        "name": "rotation field turns at twice its rate",
        "patch": (
            "import fmlib as fm\n"
            "_rot = fm.fields.rotation\n"
            "fm.fields.rotation = lambda omega=1.0: _rot(2 * omega)\n"
        ),
        "caught_by": "12d6957f",
    },
    {
        "name": "CFM interpolation runs backwards, x_t = t x_0 + (1 - t) x_1",
        "edits": [
            (
                "8443d324",
                "x_t = (1 - t[:, None]) * x_0 + t[:, None] * x_1",
                "x_t = t[:, None] * x_0 + (1 - t[:, None]) * x_1",
            )
        ],
        "caught_by": "exact-field-loss",
    },
    {
        "name": "train_cfm regresses on x_0 - x_1 (the velocity's sign flipped)",
        "patch": (
            "import fmlib as fm\n"
            "_loss = fm.training.cfm_loss\n"
            "fm.training.cfm_loss = lambda m, path, x_0, x_1, t, y=None: _loss(m, path, x_1, x_0, t, y)\n"
        ),
        "caught_by": "loss-gap-table",
    },
    {
        "name": "the equal-updates CFM run gets CFM's full budget",
        "edits": [("cfm-equal-updates", "steps=mle_steps,", "steps=cfm_steps,")],
        "caught_by": "race-verdict",
    },
    {
        "name": "grid mass without the cell area squared",
        "edits": [
            (
                "normalisation",
                'mass = {"perfect (the exact mixture)": target.log_prob(grid, 1.0).exp().sum().item() * 0.25**2}',
                'mass = {"perfect (the exact mixture)": target.log_prob(grid, 1.0).exp().sum().item() * 0.25}',
            )
        ],
        "caught_by": "normalisation",
    },
]

# The Hutchinson Try its read the RMS error the explorer prints from its scene's estimates
# (running: k_max x B per probe type) and the exact divergences.
TRY_ITS = [
    {
        "name": "a pure rotation",
        "prompt": "0a668729",
        "edits": [
            (
                "e7dc9c71",
                "A = torch.tensor([[0.3, -1.0], [0.8, 0.4]])",
                "A = torch.tensor([[0.0, -1.0], [1.0, 0.0]])",
            )
        ],
        "run_to": "1fb3acfd",
        "expect": [("5.5e-5", "err_linear"), ("8.5e-8", "round_trip['rk4', 128]")],
    },
    {
        "name": "A = I",
        "prompt": "0a668729",
        "edits": [("e7dc9c71", "A = torch.tensor([[0.3, -1.0], [0.8, 0.4]])", "A = torch.eye(2)")],
        "run_to": "1fb3acfd",
        "expect": [("2", "tr_A"), ("1.8e-5", "err_linear")],
    },
    {
        "name": "source/sink of radius 1",
        "prompt": "8d8428ba",
        "edits": [("8d9464d2", "radius=1.5", "radius=1.0")],
        "run_to": "source-sink-sign",
        "expect": [
            ("0.71", "R / math.sqrt(2)"),
            ("1.075", "image_radius"),
            ("7.0", "centre_thinning"),
        ],
    },
    {
        "name": "Hutchinson explorer at k = 16",
        "prompt": "43ae0a01",
        "edits": [
            (
                "b9a1f0fb",
                ")\nhutchinson_view",
                ')\nhutchinson_view.controls["k"].value = 16\nhutchinson_view',
            )
        ],
        "run_to": "b9a1f0fb",
        "expect": [
            (
                "2.2",
                "(hutchinson_view.scene.running['gaussian'][0] - hutchinson_view.scene.exact).pow(2).mean().sqrt()",
            ),
            (
                "0.67",
                "(hutchinson_view.scene.running['gaussian'][hutchinson_view.state['k'] - 1] - hutchinson_view.scene.exact).pow(2).mean().sqrt()",
            ),
        ],
    },
    {
        "name": "Hutchinson explorer with Rademacher probes",
        "prompt": "43ae0a01",
        "edits": [
            (
                "b9a1f0fb",
                ")\nhutchinson_view",
                ')\nhutchinson_view.controls["probe"].value = "rademacher"\nhutchinson_view',
            )
        ],
        "run_to": "b9a1f0fb",
        "expect": [
            (
                "1.0",
                "(hutchinson_view.scene.running[hutchinson_view.state['probe']][0] - hutchinson_view.scene.exact).pow(2).mean().sqrt()",
            )
        ],
    },
    {
        "name": "a growth rate of 3",
        "prompt": "db30b20b",
        "edits": [("565ce2ce", "(-2.0, 0.0, 1.0, 2.0)", "(-2.0, 0.0, 1.0, 2.0, 3.0)")],
        "run_to": "565ce2ce",
        "expect": [
            ("20.1", "grads['c = +3'][-1]"),
            ("4", "grads['c = +3'][0]"),
            ("19.7", "grads['c = +3'][4]"),
        ],
    },
    {
        "name": "a reference no finer than the run it judges",
        "prompt": "1248115c",
        "edits": [("a84cbdae", "steps=256", "steps=32")],
        "run_to": "memory-table",
        "expect": [("2.6e-7", "grad_gap[32, False]")],
    },
    {
        "name": "400 CFM steps",
        "prompt": "ae926c17",
        "edits": [("5fa91d9f", "cfm_steps = 1200", "cfm_steps = 400")],
        "run_to": "loss-gap-table",
        "expect": [("0.15", "recorder.rows[-1]['L_FM']")],
    },
    {
        "name": "narrower modes",
        "prompt": "ae926c17",
        "edits": [("1663b194", "covs=torch.full((8,), 0.2**2)", "covs=torch.full((8,), 0.05**2)")],
        "run_to": "3ccbb04a",
        "expect": [("3.55", "gap_exact")],
    },
    {
        "name": "maximum likelihood with 8 solver steps, half the updates",
        "prompt": "6173cab2",
        "edits": [
            ("b9c541a9", "cfm_steps // 16", "cfm_steps // 32"),
            ("b9c541a9", "ode_steps=4", "ode_steps=8"),
        ],
        "run_to": "aafdaeb6",
        "expect": [("3.55", "nll[list(racers)[2]][20].mean()")],
    },
]

SETTINGS = {
    "67958b32": {"4,000": "the number of single-probe estimates (a setting of the cell below)"},
    "9ad08e09": {
        "10": "the chapter's '5-10 probes', quoted",
        "2019": "the year of the FFJORD paper (a citation)",
    },
    "89dd753b": {"256": "the batch size of the timed steps (a setting of the cell below)"},
    "e7bec769": {
        "0.8": "the second time at which the figure draws u_t (a setting)",
        "64": "the number of conditional paths the figure draws (a setting)",
    },
    "14129c2e": {"5e-3": "the learning rate (fmlib's default recipe)"},
    "753c452b": {
        "0.3": "a time at which the figure draws the fields (a setting)",
        "0.7": "a time at which the figure draws the fields (a setting)",
    },
    "1e56ef41": {
        "5e-3": "the learning rate given to both methods (a setting)",
        "256": "the batch size of both methods (fmlib's default)",
    },
    "normalisation-md": {"0.25": "the grid spacing (a setting of the cell below)"},
}
