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
        "name": "fmlib's Hutchinson probes have variance 1.2 (biased estimate)",
        "patch": (
            "import fmlib as fm\n"
            "_hutchinson = fm.likelihood.divergence_hutchinson\n"
            "def _biased(*args, **kwargs):\n"
            "    return 1.2 * _hutchinson(*args, **kwargs)\n"
            "fm.likelihood.divergence_hutchinson = _biased\n"
        ),
        "caught_by": "7b6844dd",
    },
]
