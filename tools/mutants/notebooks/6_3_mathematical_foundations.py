NOTEBOOK = "notebooks/6_3_mathematical_foundations.ipynb"

MUTANTS = [
    {
        "name": "independent pairs where exact OT is named",
        "patch": "import fmlib as fm\nfm.couplings.ot_pairing = fm.couplings.independent\n",
        "caught_by": "ot-check",
    },
    {
        "name": "cosine path's u_t without the pi/2 of the chain rule (a conditional target off by a factor)",
        "patch": (
            "import math\nimport fmlib as fm\n"
            "def _cosine(self, t):\n"
            "    a = 0.5 * math.pi * t\n"
            "    return fm.paths.SchedulerOutput(a.sin(), a.cos(), a.cos(), -a.sin())\n"
            "fm.paths.CosineScheduler.__call__ = _cosine\n"
        ),
        "caught_by": "velocity-check",
    },
    {
        "name": "Gaussian log-likelihood with the factor 2 dropped (posterior logits -|x - t x_1|^2 / sigma^2)",
        "patch": (
            "import fmlib as fm\n"
            "_logits = fm.analytic.EmpiricalTarget._logits\n"
            "def _no_half(self, x, t):\n"
            "    logits, xd, coeffs = _logits(self, x, t)\n"
            "    return 2 * logits - self.log_w[None], xd, coeffs\n"
            "fm.analytic.EmpiricalTarget._logits = _no_half\n"
        ),
        "caught_by": "density-check",
    },
    {
        "name": "posterior weights without the softmax normalisation",
        "edits": [
            (
                "cell-13",
                "torch.softmax(-x_0_j.pow(2).sum(-1) / 2, dim=1)",
                "torch.exp(-x_0_j.pow(2).sum(-1) / 2)",
            )
        ],
        "caught_by": "softmax-check",
    },
    {
        "name": "general coupling: the nearest pair only instead of the posterior average",
        "edits": [
            (
                "coupling-field",
                "torch.softmax(log_lik, 1)",
                "torch.nn.functional.one_hot(log_lik.argmax(1), log_lik.shape[1]).float()",
            )
        ],
        "caught_by": "coupling-field",
    },
    {
        "name": "the coupled p_t computed as if the coupling were independent",
        "patch": (
            "import fmlib as fm\n"
            "fm.analytic.CoupledTarget.log_prob = lambda self, x, t: (\n"
            "    fm.analytic.empirical_target(self.x_1.float()).log_prob(x, t))\n"
        ),
        "caught_by": "coupling-check",
    },
    {
        "name": "arrow drawn as u_t(x), without the time left (1 - t)",
        "edits": [
            (
                "arrow-check",
                "tip = x + (1 - t[:, None]) * field.velocity(x, t)",
                "tip = x + field.velocity(x, t)",
            )
        ],
        "caught_by": "arrow-check",
    },
    {
        "name": "the solver stops short of t = 1 (the exact field no longer lands on its points)",
        "edits": [
            (
                "cell-23",
                'fm.solve(v, x_0, method="midpoint", steps=100)',
                'fm.solve(v, x_0, t1=0.9, method="midpoint", steps=100)',
            )
        ],
        "caught_by": "memo-table",
    },
    {
        "name": "CFM target off by a factor (1.1 (x_1 - x_0))",
        "edits": [("cell-25", "u_cond = x_1 - x_0", "u_cond = 1.1 * (x_1 - x_0)")],
        "caught_by": "tower-check",
    },
    {
        "name": "C as Var(x_1 | x_t), the factor 1 / (1 - t)^2 of u = (x_1 - x) / (1 - t) forgotten",
        "patch": (
            "import fmlib as fm\n"
            "_spread = fm.analytic.conditional_velocity_variance\n"
            "fm.analytic.conditional_velocity_variance = lambda target, x, t: (\n"
            "    _spread(target, x, t) * (1 - t) ** 2)\n"
        ),
        "caught_by": "tower-check",
    },
    {
        "name": "the FM gradient computed with the conditional target (copy-paste)",
        "edits": [
            (
                "cell-27",
                "(v - exact(x_t, t)).pow(2)",
                "(v - (x_1 - x_0)).pow(2)",
            )
        ],
        "caught_by": "grad-check",
    },
    {
        "name": "Cov(u, x_t) with the wrong sign, t S + (1 - t) I",
        "edits": [
            (
                "cell-31",
                "cross = t[:, None, None] * cov - (1 - t[:, None, None])",
                "cross = t[:, None, None] * cov + (1 - t[:, None, None])",
            )
        ],
        "caught_by": "cell-31",
    },
    {
        "name": "the Gaussian network trained on the wrong path (cosine instead of straight)",
        "edits": [("gauss-net", "steps=800, seed=9,", "steps=800, seed=9, path=fm.cosine_path(),")],
        "caught_by": "gauss-check",
    },
]

TRY_ITS = [
    {
        "name": "sigma_min = 0.2",
        "prompt": "cell-06",
        "edits": [("cell-05", "sigma_min = 0.05", "sigma_min = 0.2")],
        "run_to": "density-check",
        "expect": [("0.3", "peak[-1]")],
    },
    {
        "name": "explorer at x = (0, 0)",
        "prompt": "cell-20",
        "edits": [("cell-15", "x=(1.0, 0.5)", "x=(0.0, 0.0)")],
        "run_to": "cell-19",
        "expect": [
            ("18.5", 'explorer["effective at (0.0, 0.0)"][6]'),
            ("4.9", 'explorer["effective at (1.0, 0.5)"][6]'),
            ("8.7", 'explorer["|u_t| at (0.0, 0.0)"][-1]'),
            ("10.3", 'explorer["|u_t| at (1.0, 0.5)"][-1]'),
        ],
    },
    {
        "name": "memorisation: 4000 steps at N = 16",
        "prompt": "cell-24",
        "edits": [
            ("cell-23", "sizes = {}, {}, (16, 128, 1024)", "sizes = {}, {}, (16,)"),
            ("cell-23", "steps=600", "steps=4000"),
        ],
        "run_to": "memo-table",
        "expect": [("0.07", 'memo_rows[0]["median: CFM network"]')],
    },
    {
        "name": "gradients at random initialisation",
        "prompt": "cell-28",
        "edits": [
            ("cell-27", 'model = models["trained 300 steps"]', 'model = models["random init 0"]')
        ],
        "run_to": "cell-27",
        "expect": [
            ("0.81", 'float(grad_rows[0]["cosine"])'),
            ("0.81", 'float(grad_rows[1]["cosine"])'),
            ("0.82", 'float(grad_rows[2]["cosine"])'),
            ("0.3", 'float(grad_rows[-1]["relative difference"])'),
        ],
    },
    {
        "name": "Gaussian network trained 200 steps",
        "prompt": "cell-33",
        "edits": [("gauss-net", "steps=800", "steps=200")],
        "run_to": "gauss-samples",
        "expect": [
            ("0.3", "gauss_err"),
            ("0.7", "float(gen_cov[0, 0])"),
            ("0.6", "float(gen_cov[1, 1])"),
        ],
    },
]

SETTINGS = {
    "cell-02": {
        "256": "size of the data set and of the noise batch (a setting of the cell below)",
        "80": "pairs drawn in the figure (a setting of fm.plotting.pair_panels)",
    },
    "cell-04": {
        "256": "size of the data set (a setting of cell-03)",
        "0.05": "sigma_min (a setting of the cell below)",
    },
    "cell-06": {"256": "size of the data set (a setting of cell-03)"},
    "continuity-md": {"256": "size of the data set (a setting of cell-03)"},
    "cell-09": {"1000": "points per W2 sample (a setting of the cell below)"},
    "cell-11": {
        "1000": "points per W2 sample (a setting of cell-10)",
        "2000": "the house standard W2 sample size (NOTEBOOKS.md)",
    },
    "cell-16": {"0.95": "the last frame's time (a setting of the cell below)"},
    "cell-20": {"64": "paths drawn in the 1-D figure (a setting of cell-21)"},
    "cell-24": {"600": "training steps (a setting of cell-23)"},
    "cell-26": {"12": "batches per M (a setting of the cell below)"},
}
