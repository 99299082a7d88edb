NOTEBOOK = "notebooks/6_6_digits.ipynb"

MUTANTS = [
    {
        "name": "guidance with the weight's sign flipped",
        "patch": (
            "import fmlib as fm\n"
            "_guided = fm.models.guided_field\n"
            "fm.models.guided_field = lambda model, y, w=1.0: _guided(model, y, -w)\n"
        ),
        "caught_by": "metrics-asserts",
    },
    {
        "name": "training pairs images with shuffled labels",
        "patch": (
            "import torch\n"
            "import fmlib as fm\n"
            "_train = fm.train_cfm\n"
            "def _shuffled(model, data, labels=None, **kw):\n"
            "    g = torch.Generator().manual_seed(99)\n"
            "    return _train(model, data, labels=labels[torch.randperm(len(labels), generator=g)], **kw)\n"
            "fm.train_cfm = _shuffled\n"
        ),
        "caught_by": "metrics-asserts",
    },
    {
        "name": "the Fréchet distance without its mean term",
        "patch": (
            "import numpy as np\n"
            "import fmlib as fm\n"
            "_fg = fm.ot.frechet_gaussians\n"
            "fm.ot.frechet_gaussians = lambda m_a, c_a, m_b, c_b: _fg(m_a, c_a, m_a, c_b)\n"
        ),
        "caught_by": "frechet",
    },
    {
        "name": "the memorisation check measures against a set that holds the samples themselves",
        "patch": (
            "import torch\n"
            "import fmlib as fm\n"
            "_nd = fm.ot.nearest_distance\n"
            "fm.ot.nearest_distance = lambda x, reference: _nd(x, torch.cat([reference, x]))\n"
        ),
        "caught_by": "metrics-asserts",
    },
    {
        "name": "Hutchinson's probes with variance 4 instead of 1",
        "patch": (
            "import fmlib as fm\n"
            "_h = fm.likelihood._hutchinson\n"
            "fm.likelihood._hutchinson = lambda out, x, k, probe, g, cg: 4 * _h(out, x, k, probe, g, cg)\n"
        ),
        "caught_by": "divergence",
    },
    {
        "name": "the exact divergence sums half of the 64 diagonal terms",
        "patch": (
            "import torch\n"
            "import fmlib as fm\n"
            "def _half(out, x, create_graph):\n"
            "    div = torch.zeros(x.shape[0], dtype=x.dtype)\n"
            "    for i in range(x.shape[1] // 2):\n"
            "        div = div + fm.likelihood._grad(out[:, i].sum(), x, create_graph)[:, i]\n"
            "    return div\n"
            "fm.likelihood._exact = _half\n"
        ),
        "caught_by": "divergence",
    },
]

TRY_ITS = [
    {
        "name": "a third of the training budget",
        "prompt": "try-train",
        "edits": [
            (
                "model",
                "STEPS, BATCH, P_UNCOND = 3000, 256, 0.2",
                "STEPS, BATCH, P_UNCOND = 1000, 256, 0.2",
            )
        ],
        "run_to": "metrics-table",
        "expect": [("0.966", "acc_w1"), ("1.38", "fd_w1 / floor")],
    },
    {
        "name": "guidance at w = 10",
        "prompt": "guidance-read",
        "edits": [("guidance-sweep", "3.0, 5.0)", "3.0, 5.0, 10.0)")],
        "run_to": "guidance-sweep",
        "expect": [
            ("0.99", "sweep[10.0]['accuracy']"),
            ("10.3", "sweep[10.0]['diversity']"),
            ("22.6", "sweep[10.0]['Fréchet']"),
            ("14.8", "sweep[10.0]['Fréchet'] / floor"),
        ],
    },
    {
        "name": "minibatch-OT pairs (OT-CFM) in 64-D",
        "prompt": "try-ot",
        "edits": [("train", "batch_size=BATCH, seed=0", 'batch_size=BATCH, seed=0, coupling="ot"')],
        "run_to": "metrics-table",
        "expect": [("0.776", "acc_w1"), ("2.10", "fd_w1 / floor")],
    },
]

SETTINGS = {
    "intro": {
        "1,797": "the size of scikit-learn's digits data set (printed in 6.6.1)",
        "16": "the darkest grey level of scikit-learn's digits (printed in 6.6.1)",
        "64": "pixels per 8×8 image",
    },
    "data-md": {"1,797": "the size of scikit-learn's digits data set (printed below)"},
    "train-md": {
        "64": "pixels per image, and the width of the time embedding (a setting)",
        "256": "the width of the hidden layers (a setting of the model cell)",
    },
    "samples-md": {"16": "midpoint steps of generate (a setting of the cell below)"},
    "metrics-md": {"64": "pixels per image"},
    "metrics-read": {
        "100%": "what a judge with no ambiguous digits would score",
        "0.9": "the accuracy floor that the cell metrics-asserts asserts",
    },
    "solvers-md": {"64": "pixels per image"},
    "likelihood-read": {"17": "the grey levels 0..16 of scikit-learn's digits"},
}
