NOTEBOOK = "notebooks/6_4_flow_matching_and_diffusion.ipynb"

MUTANTS = [
    {
        "name": "score -> velocity with the wrong sign on the score term",
        "edits": [
            (
                "43763a53",
                "d_alpha_t * sigma_t**2 / alpha_t - d_sigma_t * sigma_t",
                "d_alpha_t * sigma_t**2 / alpha_t + d_sigma_t * sigma_t",
            )
        ],
        "caught_by": "43763a53",
    },
    {
        "name": "probability-flow field with the diffusion-time sign, f - g^2 s / 2",
        "patch": (
            "import fmlib as fm\n"
            "from fmlib._validate import as_time\n"
            "def _pf(score_fn, sde):\n"
            "    def v(x, t):\n"
            "        t_b = as_time(t, x.shape[0], x)\n"
            "        g2 = sde.diffusion(t_b)[:, None] ** 2\n"
            "        return sde.drift(x, t_b) - 0.5 * g2 * score_fn(x, t)\n"
            "    return v\n"
            "fm.diffusion.probability_flow_field = _pf\n"
        ),
        "caught_by": "pf-ode-sign",
    },
    {
        "name": "VP schedule's beta off by a factor of 2 (alpha_t still from T)",
        "patch": (
            "import fmlib as fm\n"
            "_beta = fm.paths.VPScheduler.beta\n"
            "fm.paths.VPScheduler.beta = lambda self, s: 2 * _beta(self, s)\n"
        ),
        "caught_by": "alpha-check",
    },
    {
        "name": "noise predictor read as a score with sigma_t^2 instead of sigma_t",
        "patch": (
            "import fmlib as fm\n"
            "def _nts(model, path):\n"
            "    def score(x, t):\n"
            "        return -model(x, t) / path.coefficients(t, x).sigma_t ** 2\n"
            "    return score\n"
            "fm.diffusion.noise_to_score = _nts\n"
        ),
        "caught_by": "756edd14",
    },
    {
        "name": "reverse SDE without its noise term g dW",
        "patch": (
            "import types\n"
            "import torch\n"
            "import fmlib as fm\n"
            "_t = types.ModuleType('torch_without_sde_noise')\n"
            "_t.__dict__.update(torch.__dict__)\n"
            "def _randn(*a, dtype=None, **k):\n"
            "    # the Euler-Maruyama noise is the only torch.randn call in fmlib.diffusion with dtype=\n"
            "    return torch.zeros(*a, dtype=dtype) if dtype is not None else torch.randn(*a, **k)\n"
            "_t.randn = _randn\n"
            "fm.diffusion.torch = _t\n"
        ),
        "caught_by": "samplers-check",
    },
    {
        "name": "noise_to_score clamps sigma_t at 1e-2 (hides the 1/sigma_t blow-up)",
        "patch": (
            "import fmlib as fm\n"
            "def _nts(model, path):\n"
            "    def score(x, t):\n"
            "        return -model(x, t) / path.coefficients(t, x).sigma_t.clamp_min(1e-2)\n"
            "    return score\n"
            "fm.diffusion.noise_to_score = _nts\n"
        ),
        "caught_by": "score-blowup-check",
    },
    {
        "name": "equal-SNR map without the shrink 1/(alpha_t + sigma_t)",
        "patch": (
            "import torch\n"
            "import fmlib as fm\n"
            "_le = fm.diffusion.linear_equivalent\n"
            "fm.diffusion.linear_equivalent = lambda path, t: (_le(path, t)[0], torch.ones_like(t))\n"
        ),
        "caught_by": "equal-snr-check",
    },
    {
        "name": "checkpoint callback keeps reporting its first W2 (a stale cache)",
        "patch": (
            "import fmlib as fm\n"
            "_call = fm.training.W2Checkpoints.__call__\n"
            "def _stale(self, step, seconds, model):\n"
            "    _call(self, step, seconds, model)\n"
            "    self.points[-1] = (step, seconds, self.points[0][2])\n"
            "fm.training.W2Checkpoints.__call__ = _stale\n"
        ),
        "caught_by": "steps-check",
    },
    {
        "name": "FM target variance with the VP path's velocity on the linear path's points",
        "edits": [
            (
                "726dc7e9",
                'mixture["linear"].velocity(x_lin, t)',
                'mixture["vp"].velocity(x_lin, t)',
            )
        ],
        "caught_by": "variance-check",
    },
]

TRY_ITS = [
    {
        "name": "end-point sweep on the VP path",
        "prompt": "a9428f62",
        "edits": [("ee3ae218", "end_path = linear", "end_path = vp")],
        "run_to": "ends-table",
        "expect": [
            ("9e-6", "max(e[0] for e in ends.values())"),
            ("10", "coeffs[0.0][0]"),
            ("2e-4", "max(ends[t][1] for t in (1e-1, 1e-3, 1e-5))"),
        ],
    },
    {
        "name": "reverse SDE with 500 steps",
        "prompt": "a8caad51",
        "edits": [("b8b2c5ef", 'kind="sde", steps=100', 'kind="sde", steps=500')],
        "run_to": "b8b2c5ef",
        "expect": [
            ("0.247", "scores['DSM, reverse SDE (Euler-Maruyama)'].w2"),
            ("5.73", "scores['DSM, reverse SDE (Euler-Maruyama)'].ratio"),
        ],
    },
    {
        "name": "explorer with 10 steps",
        "prompt": "a8caad51",
        "edits": [("ac1e4698", "steps=40,", "steps=10,")],
        "run_to": "explorer-metrics",
        "expect": [
            ("40", "side_by_side.scene.metrics('ode')['NFE']"),
            ("0.818", "side_by_side.scene.metrics('ode')['straightness']"),
            ("0.514", "side_by_side.scene.metrics('fm')['straightness']"),
            (
                "5.0",
                "fm.ot.kinetic_energy(*fm.diffusion.reverse_sde_trajectory(score_dsm, sde, x_start, "
                "steps=200, generator=torch.Generator().manual_seed(8), save_at=40)[1:3])"
                " / side_by_side.scene.metrics('sde')['kinetic E']",
            ),
        ],
    },
]

SETTINGS = {
    "note-pf-sign": {"2021": "year of the cited paper (Song et al.)"},
    "31d1f827": {"2011": "year of the cited paper (Vincent)"},
    "85dbd7f0": {
        "5e-3": "learning rate (fmlib's training default)",
        "256": "batch size (fmlib's training default)",
        "0.995": "EMA decay (fmlib's training default)",
        "32": "NFE of the checkpoint sampler: RK4, 8 steps (a setting of the training cell)",
    },
    "a0559095": {"16": "RK4 steps of the ODE samplers (a setting of the samplers cell)"},
    "fc0926a3": {"0.05": "the noise of fm.two_moons (its default)"},
    "trajectories-md": {
        "400": "noise points (a setting of the blow-up cell, x_start)",
        "20": "RK4 steps of the trajectories (a setting of the trajectories cell)",
    },
    "2e859a3d": {"400": "noise points (x_start)"},
    "c8ba3d62": {"41": "the explorer's saved times: steps=40 plus the start (a setting)"},
    "eee41889": {"150": "checkpoint spacing EVERY (a setting of the training cell)"},
    "c1d037f8": {"12": "the figure's y-axis limit (a setting of the figure cell)"},
    "eab715c2": {"400": "noise points (x_start)"},
}
