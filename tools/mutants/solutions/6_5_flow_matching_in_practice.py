NOTEBOOK = "solutions/6_5_flow_matching_in_practice.ipynb"

MUTANTS = [
    {
        "name": "Heun sampler: the corrector evaluated at the start time",
        "edits": [("f58184e4", "k_2 = v(x + dt * k_1, t + dt)", "k_2 = v(x + dt * k_1, t)")],
        "caught_by": "d6dcae01",
    },
    {
        "name": "RK2 with a free stage: Heun's equal weights for every c",
        "edits": [("95614ac8", "b_2 = 0.5 / c", "b_2 = 0.5")],
        "caught_by": "3e50afff",
    },
    {
        "name": "guidance in the (1 + gamma) convention written in the section's",
        "edits": [
            (
                "fd82d762",
                "return (1 + gamma) * v_cond - gamma * v_uncond",
                "return v_uncond + gamma * (v_cond - v_uncond)",
            )
        ],
        "caught_by": "051a69d8",
    },
    {
        "name": "unconditional velocity: the classes weighted by their prior alone",
        "edits": [
            (
                "4cbe282c",
                "torch.softmax(log_prior[:, None] + log_p_cond, dim=0)",
                "torch.softmax(log_prior[:, None] + 0 * log_p_cond, dim=0)",
            )
        ],
        "caught_by": "6389f740",
    },
    {
        "name": "gap-avoiding path: the straight line",
        "edits": [
            ("763318be", "s, ds = 1 - (1 - t) ** 3, 3 * (1 - t) ** 2", "s, ds = t, 1 + 0 * t")
        ],
        "caught_by": "9496f637",
    },
    {
        "name": "fmlib's Heun is Euler at the same NFE",
        "patch": (
            "import fmlib as fm\n"
            "_solve = fm.solve\n"
            "def _euler_for_heun(v, x, method='euler', steps=100, **kwargs):\n"
            "    if method == 'heun':\n"
            "        method, steps = 'euler', 2 * steps\n"
            "    return _solve(v, x, method=method, steps=steps, **kwargs)\n"
            "fm.solve = _euler_for_heun\n"
        ),
        "caught_by": "3d3e5839",
    },
    {
        "name": "fmlib's fixed-step solvers skip the last step",
        "patch": (
            "import fmlib as fm\n"
            "_solve = fm.solve\n"
            "def _short(v, x, method='euler', steps=100, t0=0.0, t1=1.0, **kwargs):\n"
            "    if method in ('euler', 'heun'):\n"
            "        t1, steps = t0 + (t1 - t0) * (steps - 1) / steps, steps - 1\n"
            "    return _solve(v, x, method=method, steps=steps, t0=t0, t1=t1, **kwargs)\n"
            "fm.solve = _short\n"
        ),
        "caught_by": "3d3e5839",
    },
    {
        "name": "the guided field is built the wrong way round",
        "edits": [
            (
                "d3e78d0d",
                "uncond(x, t) + w * (cond(x, t) - uncond(x, t))",
                "cond(x, t) + w * (uncond(x, t) - cond(x, t))",
            )
        ],
        "caught_by": "d3e78d0d",
    },
]

TRY_ITS = [
    {
        "name": "guidance weight 4",
        "prompt": "9b530cd4",
        "edits": [("d3e78d0d", "for w in (0.0, 1.0, 2.0):", "for w in (0.0, 1.0, 2.0, 4.0):")],
        "run_to": "d3e78d0d",
        "expect": [("98", "distinct[4.0]"), ("195", "distinct[1.0]")],
    },
]

SETTINGS = {
    "704c44b1": {
        "400": "two-moons points (a setting of the cell below)",
        "200": "points of the outer moon: half of the 400",
    },
    "9b530cd4": {"200": "points of the outer moon: half of the 400"},
    "9b697ae8": {
        "2000": "the check's pairs (fmlib.checks.section_6_5.check_gap_avoiding_path)",
        "0.8×": "the check's criterion on the time in the gap",
        "2×": "the check's bound on the kinetic energy",
    },
}
