NOTEBOOK = "solutions/6_1_cnf_to_flow_matching.ipynb"

MUTANTS = [
    {
        "name": "the exact divergence sums the first diagonal entry D times",
        "edits": [("e9dae224", "div = div + grad[:, i]", "div = div + grad[:, 0]")],
        "caught_by": "ed9f3831",
    },
    {
        "name": "Hutchinson's estimate averages over coordinates instead of summing",
        "edits": [("4592ed42", "(eps_jac * eps).sum(dim=1)", "(eps_jac * eps).mean(dim=1)")],
        "caught_by": "97d7301b",
    },
    {
        "name": "rotating linear CNF: the two exponentials of the flow map in the wrong order",
        "edits": [
            (
                "009e779f",
                "torch.linalg.matrix_exp(-(a - omega)) @ torch.linalg.matrix_exp(-omega)",
                "torch.linalg.matrix_exp(-omega) @ torch.linalg.matrix_exp(-(a - omega))",
            )
        ],
        "caught_by": "cb652496",
    },
    {
        "name": "rotating linear CNF: the rotation forgotten, the flow map of A x alone",
        "edits": [
            (
                "009e779f",
                "torch.linalg.matrix_exp(-(a - omega)) @ torch.linalg.matrix_exp(-omega)",
                "torch.linalg.matrix_exp(-a)",
            )
        ],
        "caught_by": "cb652496",
    },
    {
        "name": "log-density along Euler's trajectories: the divergence added, not subtracted",
        "edits": [("c26ef4bd", "log_p - h * div", "log_p + h * div")],
        "caught_by": "08d7bdae",
    },
    {
        "name": "the variance-reduced estimator falls back on Gaussian probes",
        "edits": [
            (
                "49d54b13",
                "eps = torch.randint(0, 2, (3, d), generator=generator, dtype=torch.float64) * 2 - 1",
                "eps = torch.randn(3, d, generator=generator, dtype=torch.float64)",
            )
        ],
        "caught_by": "1a69cdaa",
    },
    {
        "name": "fmlib's Rademacher probes drawn on {0, 1}, not {-1, +1}",
        "patch": (
            "import torch\n"
            "import fmlib as fm\n"
            "_hutchinson = fm.likelihood._hutchinson\n"
            "def _zero_one(out, x, k, probe, generator, create_graph):\n"
            "    if probe != 'rademacher':\n"
            "        return _hutchinson(out, x, k, probe, generator, create_graph)\n"
            "    samples = []\n"
            "    for _ in range(k):\n"
            "        eps = (torch.randn(x.shape, generator=generator, dtype=x.dtype) > 0).to(x.dtype)\n"
            "        (grad,) = torch.autograd.grad((out * eps).sum(), x, retain_graph=True)\n"
            "        samples.append((grad * eps).sum(dim=1))\n"
            "    return torch.stack(samples)\n"
            "fm.likelihood._hutchinson = _zero_one\n"
        ),
        "caught_by": "7b6844dd",
    },
]

SETTINGS = {
    "53af02b6": {
        "10": "numbers of probes, settings of the cell below",
        "100": "numbers of probes, settings of the cell below",
        "1000": "numbers of probes, settings of the cell below",
    },
    "8ac82752": {
        "300": "the check's number of calls (fmlib.checks.section_6_1.check_divergence_estimator)",
        "4.5": "the check's bias criterion, in standard errors",
        "0.5×": "the check's variance criterion",
    },
    "a3aa62b8": {
        "64": "the Try it's setting (dim=64), hence 64 backward passes: one per coordinate, by definition"
    },
}
