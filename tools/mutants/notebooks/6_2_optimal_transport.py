"""Mutants, Try its and settings of notebook 6.2 (format: tools/mutate.py)."""

NOTEBOOK = "notebooks/6_2_optimal_transport.ipynb"

MUTANTS = [
    {
        "name": "POT's plan replaced by an entropic (Sinkhorn) plan: not optimal, not a permutation",
        "patch": (
            "import ot\nimport fmlib as fm\n"
            "fm.ot.ot_plan = lambda x, y: ot.sinkhorn(\n"
            "    ot.unif(len(x)), ot.unif(len(y)), fm.ot._cost(x, y), 0.5\n"
            ")\n"
        ),
        "caught_by": "76ed537b",
    },
    {
        "name": "Benamou-Brenier energy without the 1/dt (half the kinetic energy at 2 steps/unit)",
        "patch": (
            "import fmlib as fm\n_ke = fm.ot.kinetic_energy\n"
            "fm.ot.kinetic_energy = lambda xs, ts: 0.5 * _ke(xs, ts)\n"
        ),
        "caught_by": "394ef22c",
    },
    {
        "name": "the OT velocity of the Gaussians with a rotation added",
        "patch": (
            "import torch\nimport fmlib as fm\n_v = fm.analytic.GaussianDisplacement.velocity\n"
            "fm.analytic.GaussianDisplacement.velocity = lambda self, x, t: _v(self, x, t)"
            " + 0.3 * torch.stack([-x[:, 1], x[:, 0]], 1)\n"
        ),
        "caught_by": "cb627749",
    },
    {
        "name": "displacement interpolation run backwards in t (noise at t = 1)",
        "edits": [
            (
                "geodesic-check",
                "x_t = (1 - t) * x_a + t * y_paired",
                "x_t = t * x_a + (1 - t) * y_paired",
            )
        ],
        "caught_by": "geodesic-control",
    },
    {
        "name": "curl read off the diagonal of the Jacobian (dv_x/dx - dv_y/dy)",
        "patch": (
            "import fmlib as fm\n"
            "fm.fields.curl_ratio = lambda v, x, t=0.0: (lambda j: float(\n"
            "    (j[:, 0, 0] - j[:, 1, 1]).abs().mean() / j.flatten(1).norm(dim=1).mean()\n"
            "))(fm.fields.field_jacobian(v, x, t))\n"
        ),
        "caught_by": "curl-test",
    },
    {
        "name": "the rotation spirals outwards (a radial part: not divergence-free)",
        "patch": (
            "import fmlib as fm\n_rot = fm.fields.rotation\n"
            "fm.fields.rotation = lambda omega=1.0: fm.fields.field_sum(_rot(omega), lambda x, t: 0.3 * x)\n"
        ),
        "caught_by": "rotation-checks",
    },
    {
        "name": "the OT partner read along the wrong axis of the plan",
        "edits": [
            ("3c4682a8", "x_1_ot = x_1[plan.argmax(axis=1)]", "x_1_ot = x_1[plan.argmax(axis=0)]")
        ],
        "caught_by": "three-paths-check",
    },
    {
        "name": "minibatch OT ignores its block size (exact OT over the whole batch)",
        "patch": (
            "import fmlib as fm\n_pair = fm.couplings.ot_pairing\n"
            "fm.couplings.ot_pairing = lambda x_0, x_1, *a, block_size=None, **k: _pair(x_0, x_1, *a, **k)\n"
        ),
        "caught_by": "7509b6f8",
    },
    {
        "name": "OT-CFM trained on independent pairs (the coupling argument dropped)",
        "edits": [("train-models", "coupling=coupling,", 'coupling="independent",')],
        "caught_by": "table-checks",
    },
    {
        "name": "the posterior variance of the conditional velocity off by a factor 2",
        "patch": (
            "import fmlib as fm\n_var = fm.analytic.conditional_velocity_variance\n"
            "fm.analytic.conditional_velocity_variance = lambda *a, **k: 0.5 * _var(*a, **k)\n"
        ),
        "caught_by": "energy-gap-check",
    },
]

TRY_ITS = [
    {
        "name": "cost |x - y| instead of |x - y|^2",
        "prompt": "fd699561",
        "edits": [("574f4db7", ".pow(2)", ".pow(1)")],
        "run_to": "574f4db7",
        "expect": [(str(v), f"best_perm[{i}]") for i, v in enumerate((5, 4, 3, 0, 1, 2))],
    },
    {
        "name": "a stratified 'perfect' sampler",
        "prompt": "8d916ae6",
        "edits": [("0334ac5c", "stratified=False", "stratified=True")],
        "run_to": "0334ac5c",
        "expect": [("1.0", "perfect / floor")],
    },
    {
        "name": "continuity equation at t = 0.8",
        "prompt": "cdc12b65",
        "edits": [("cb627749", "t_c, dt = 0.4, 1e-3", "t_c, dt = 0.8, 1e-3")],
        "run_to": "cb627749",
        "expect": [("4.0", "residual[0.1] / residual[0.05]"), ("0.74", "residual_icfm[0.05]")],
    },
    {
        "name": "a higher bow, a = 2",
        "prompt": "2b7b9707",
        "edits": [("three-paths", "a=1.0", "a=2.0")],
        "run_to": "three-paths-check",
        "expect": [("1.67", 'path_energy["(c) curved (a = 1), OT pairs"]')],
    },
    {
        "name": "OT-CFM in blocks of 8",
        "prompt": "1294a5fb",
        "edits": [
            ("train-models", "progress=False,", "progress=False,\n            ot_block_size=8,")
        ],
        "run_to": "02b1bad2",
        "expect": [
            ("0.44", 'table["N(0, I)", "ot"]["Euler 1"]'),
            ("1.3", 'table["N(0, I)", "independent"]["Euler 1"]'),
        ],
    },
]

SETTINGS = {
    "2554a7ae": {"36": "unknowns of the 6 x 6 linear program (a definition)"},
    "2c3e6655": {"2000": "sample size of every W2 (a setting)"},
    "geodesic-intro": {"1000": "sample size of the geodesic check (a setting of the cell below)"},
    "825355cd": {
        "2000": "sample size (a setting of the cell below)",
        "200": "time steps of the trajectories (a setting)",
    },
    "047a5b25": {"2023": "year of the cited paper (Tong et al.)"},
    "590d465a": {
        "1000": "training steps (a setting of the training cell)",
        "4000": "fmlib's default number of training steps (a setting)",
    },
    "776bfb73": {"1000": "trajectories per model (a setting of the cell below)"},
    "energy-gap-intro": {"40": "time nodes (a setting of the cell below)"},
    "energy-gap-note": {"1000": "training steps (a setting of the training cell)"},
    "1294a5fb": {"1000": "training steps (a setting of the training cell)"},
    "a475ba84": {
        "1000": "training steps (a setting of the training cell)",
        "500": "points per time in the curl cell (a setting)",
        "300": "data points of the exact I-CFM field (a setting)",
    },
}
