NOTEBOOK = "notebooks/6_5_flow_matching_in_practice.ipynb"

MUTANTS = [
    {
        "name": "Euler where Heun is named (the solver table maps 'heun' to the Euler step)",
        "patch": "import fmlib as fm\nfm.solvers.FIXED_STEP['heun'] = fm.solvers.euler_step\n",
        "caught_by": "convergence-orders",
    },
    {
        "name": "RK4 with a wrong stage weight (k3 and k4 weighted 1 and 2 instead of 2 and 1)",
        "patch": (
            "import fmlib as fm\n"
            "def _rk4(v, x, t, dt):\n"
            "    k1 = v(x, t)\n"
            "    k2 = v(x + 0.5 * dt * k1, t + 0.5 * dt)\n"
            "    k3 = v(x + 0.5 * dt * k2, t + 0.5 * dt)\n"
            "    k4 = v(x + dt * k3, t + dt)\n"
            "    return x + dt / 6 * (k1 + 2 * k2 + k3 + 2 * k4)\n"
            "fm.solvers.FIXED_STEP['rk4'] = _rk4\n"
        ),
        "caught_by": "convergence-orders",
    },
    {
        "name": "a fixed-step solver that ignores its last step",
        "patch": (
            "import fmlib as fm\n"
            "def _skip_last(step):\n"
            "    return lambda v, x, t, dt: x if t + dt > 1 - 1e-9 else step(v, x, t, dt)\n"
            "for _name in list(fm.solvers.FIXED_STEP):\n"
            "    fm.solvers.FIXED_STEP[_name] = _skip_last(fm.solvers.FIXED_STEP[_name])\n"
        ),
        "caught_by": "w2-check",
    },
    {
        "name": "a path whose u_t is off by a factor (the VP path's sigma_t' halved)",
        "patch": (
            "import fmlib as fm\n"
            "_vp = fm.paths.VPScheduler.__call__\n"
            "def _half(self, t):\n"
            "    out = _vp(self, t)\n"
            "    return out._replace(d_sigma_t=0.5 * out.d_sigma_t)\n"
            "fm.paths.VPScheduler.__call__ = _half\n"
        ),
        "caught_by": "path-derivatives",
    },
    {
        "name": "OT-CFM trains on independent pairs (the coupling is ignored)",
        "patch": "import fmlib as fm\nfm.training.ot_pairing = lambda x_0, x_1, y=None, **k: fm.couplings.independent(x_0, x_1, y)\n",
        "caught_by": "stability",
    },
    {
        "name": "dopri5's NFE counts steps, not evaluations (six per step)",
        "patch": (
            "import fmlib as fm\n"
            "_d5 = fm.solvers._solve_dopri5\n"
            "fm.solvers._solve_dopri5 = lambda *a: (lambda s: s._replace(nfe=s.nfe // 6))(_d5(*a))\n"
        ),
        "caught_by": "equal-accuracy",
    },
    {
        "name": "the inline Heun step uses only the predictor's slope",
        "edits": [("cell-18", "x_next = x + 0.5 * dt * (k_1 + k_2)", "x_next = x + dt * k_2")],
        "caught_by": "cell-18",
    },
    {
        "name": "guidance with the weight's sign flipped",
        "patch": (
            "import fmlib as fm\n"
            "_guided = fm.models.guided_field\n"
            "fm.models.guided_field = lambda model, y, w=1.0: _guided(model, y, -w)\n"
        ),
        "caught_by": "cell-32",
    },
]

TRY_ITS = [
    {
        "name": "a third of the steps on half the batch",
        "prompt": "try-budget",
        "edits": [("cell-05", "STEPS, BATCH = 2500, 256", "STEPS, BATCH = 800, 128")],
        "run_to": "path-asserts",
        "expect": [
            ("27.8", "100 * table['linear (I-CFM)']['ends in gap']"),
            ("31.8", "100 * max(row['ends in gap'] for row in table.values())"),
            ("1.93", "min(row['x perfect'] for row in table.values())"),
        ],
    },
    {
        "name": "a looser 'loose' target",
        "prompt": "cell-27",
        "edits": [("equal-accuracy", '"loose": 1e-2', '"loose": 1e-3')],
        "run_to": "equal-accuracy",
        "expect": [
            ("39", "round(need['linear (I-CFM)', 'loose']['rk4'])"),
            ("67", "round(need['linear (I-CFM)', 'loose']['dopri5'])"),
        ],
    },
    {
        "name": "no label dropout",
        "prompt": "cell-37",
        "edits": [
            ("cell-32", "p_uncond=0.2", "p_uncond=0.0"),
            ("guidance-sweep", "4.0, 6.0)", "4.0, 6.0, 10.0)"),
        ],
        "run_to": "guidance-table",
        "expect": [
            ("0.08", "guidance[1.0, 0]['W2']"),
            ("0.96", "1 - guidance[0.0, 0]['accuracy']"),
            ("2.1", "guidance[3.0, 0]['W2']"),
            ("9.9", "guidance[10.0, 0]['W2']"),
        ],
    },
    {
        "name": "guidance at w = 10",
        "prompt": "cell-37",
        "edits": [("guidance-sweep", "4.0, 6.0)", "4.0, 6.0, 10.0)")],
        "run_to": "guidance-table",
        "expect": [
            ("1.00", "min(guidance[10.0, c]['accuracy'] for c in (0, 1))"),
            ("0.30", "guidance[10.0, 0]['spread']"),
            ("0.42", "guidance[10.0, 1]['spread']"),
        ],
    },
]

SETTINGS = {
    "cell-04": {
        "20,000": "training points (a setting of the cell below)",
        "4000": "fmlib's default number of training steps (fm.training.DEFAULTS)",
        "256": "fmlib's default batch size (fm.training.DEFAULTS)",
        "200": "particles the checkpoints measure (a setting of the training cell)",
    },
    "note-ot-cfm": {"2023": "the year both papers appeared"},
    "cell-06": {
        "16": "RK4 steps of the sampler (a setting of the cell below)",
        "1000": "points per W2 draw (a setting of the cell below)",
        "2000": "points per W2 draw in the other notebooks (a setting)",
        "500": "trajectories measured (a setting)",
        "100": "particles the dopri5 NFE is counted on (a setting of fm.ot.flow_metrics)",
    },
    "cell-08": {
        "26": "saved states: 25 RK4 steps and the start (a setting)",
        "1.8": "the bound the cell w2-check asserts (a definition of 'learned two moons')",
    },
    "cell-11": {"200": "particles drawn per panel (a setting of fm.plotting.draw_crossings)"},
    "cell-19": {
        "64": "the finest step count of the sweep (a setting of the cell below)",
        "500": "noise points and data points of the sweep (a setting of the cell below)",
    },
    "cell-23": {"10%": "the tolerance on W2 that defines 'as good as the reference' (a setting)"},
    "cell-33": {"500": "samples per scale and class (a setting of the cell below)"},
}
