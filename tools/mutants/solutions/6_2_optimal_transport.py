NOTEBOOK = "solutions/6_2_optimal_transport.ipynb"

MUTANTS = [
    {
        "name": "W2 in 1-D: the samples paired as given, not sorted",
        "edits": [("cac2eec1", "(a.sort().values - b.sort().values)", "(a - b)")],
        "caught_by": "767cef23",
    },
    {
        "name": "Brenier's map: S_1^1/2 S_0^-1/2, which pushes forward but is not symmetric",
        "edits": [("953eecfc", "a = r_inv @ sqrtm(r @ s_1 @ r) @ r_inv", "a = sqrtm(s_1) @ r_inv")],
        "caught_by": "8dbc5e16",
    },
    {
        "name": "Sinkhorn: only the row scaling iterated",
        "edits": [("dcb45fb3", "v = (1 / b) / (k.T @ u)", "v = v")],
        "caught_by": "a63af145",
    },
    {
        "name": "hedged plan: a strong regularisation, eps = 10 % of the mean cost (too expensive)",
        "edits": [
            ("674b557f", "eps = 0.01 * float(cost.mean())", "eps = 0.1 * float(cost.mean())")
        ],
        "caught_by": "40e73c0c",
    },
    {
        "name": "hedged plan: a fixed eps, blind to the cost's scale",
        "edits": [("674b557f", "eps = 0.01 * float(cost.mean())", "eps = 0.04")],
        "caught_by": "40e73c0c",
    },
    {
        "name": "hedged plan: too few Sinkhorn rounds, marginals not enforced",
        "edits": [("674b557f", "for _ in range(300):", "for _ in range(3):")],
        "caught_by": "40e73c0c",
    },
    {
        "name": "hedged plan: the plan transposed (x_1's index first)",
        "edits": [
            (
                "674b557f",
                "return torch.exp((f[:, None] + g[None] - cost) / eps)",
                "return torch.exp((f[:, None] + g[None] - cost) / eps).T",
            )
        ],
        "caught_by": "40e73c0c",
    },
    {
        "name": "the measure's entropy not reduced by log B (partners = exp H)",
        "patch": (
            "import fmlib.checks.section_6_2 as _s\n"
            "_measures = _s.hedged_plan_measures\n"
            "def _no_log_b(plan, x_0, x_1):\n"
            "    m = dict(_measures(plan, x_0, x_1))\n"
            "    m['partners'] = m['partners'] * plan.shape[0]\n"
            "    return m\n"
            "_s.hedged_plan_measures = _no_log_b\n"
        ),
        "caught_by": "36c71697",
    },
    {
        "name": "kinetic energy multiplies by dt instead of dividing",
        "edits": [("cbf42cfa", ".mean(dim=1) / dt).sum()", ".mean(dim=1) * dt).sum()")],
        "caught_by": "a57b5a9b",
    },
    {
        "name": "OT pairing returns the inverse permutation (rows and columns swapped)",
        "edits": [
            (
                "0e8fac36",
                "perm[torch.as_tensor(cols)] = torch.as_tensor(rows)",
                "perm[torch.as_tensor(rows)] = torch.as_tensor(cols)",
            )
        ],
        "caught_by": "11403d55",
    },
    {
        "name": "fmlib's OT coupling returns independent pairs",
        "patch": (
            "import fmlib as fm\n"
            "_coupling = fm.couplings.ot_pairing\n"
            "def _independent(x_0, x_1, **kwargs):\n"
            "    return _coupling(x_0, x_1, **kwargs)._replace(x_0=x_0)  # the pairs as drawn\n"
            "fm.couplings.ot_pairing = _independent\n"
        ),
        "caught_by": "energy-check",
    },
    {
        "name": "the independent row is computed from the OT pairs",
        "edits": [
            (
                "1d5c2061",
                '(("independent", x_0), ("minibatch OT", paired))',
                '(("independent", paired), ("minibatch OT", paired))',
            )
        ],
        "caught_by": "energy-check",
    },
]

TRY_ITS = [
    {
        "name": "blocks of 16",
        "prompt": "4227078b",
        "edits": [
            (
                "1d5c2061",
                "fm.couplings.ot_pairing(x_0, x_1).x_0",
                "fm.couplings.ot_pairing(x_0, x_1, block_size=16).x_0",
            )
        ],
        "run_to": "1d5c2061",
        "expect": [("1.01", 'energy["minibatch OT"]')],
    },
    {
        "name": "blocks of 64",
        "prompt": "4227078b",
        "edits": [
            (
                "1d5c2061",
                "fm.couplings.ot_pairing(x_0, x_1).x_0",
                "fm.couplings.ot_pairing(x_0, x_1, block_size=64).x_0",
            )
        ],
        "run_to": "1d5c2061",
        "expect": [("0.52", 'energy["minibatch OT"]')],
    },
]

SETTINGS = {
    "41f8e14a": {"512": "points per batch (a setting of the cell below)"},
    "8306c969": {"512": "points per batch (a setting of the cell under 'What the pairing buys')"},
}
