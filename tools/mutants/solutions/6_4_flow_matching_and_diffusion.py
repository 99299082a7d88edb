NOTEBOOK = "solutions/6_4_flow_matching_and_diffusion.ipynb"

MUTANTS = [
    {
        "name": "noise to velocity: the score's sign lost (score = eps / sigma)",
        "edits": [("3dfac5f8", "score = -eps / sigma_t", "score = eps / sigma_t")],
        "caught_by": "224d3c56",
    },
    {
        "name": "posterior covariance: differentiates the noise's posterior mean, not the data's",
        "edits": [
            (
                "cc4e3aaa",
                "den = (d_sigma_t * x - sigma_t * velocity(x))",
                "den = (alpha_t * velocity(x) - d_alpha_t * x)",
            )
        ],
        "caught_by": "92c656c7",
    },
    {
        "name": "posterior covariance: the denoiser's Jacobian without Tweedie's factor sigma^2 / alpha",
        "edits": [
            ("cc4e3aaa", "(sigma_t**2 / alpha_t)[:, :, None] * jac.detach()", "jac.detach()")
        ],
        "caught_by": "92c656c7",
    },
    {
        "name": "Gaussian velocity: the noise's share of the velocity dropped",
        "edits": [("115a4ddc", "k_t = a * da * cov + s * ds * eye", "k_t = a * da * cov")],
        "caught_by": "3a6d3420",
    },
    {
        "name": "time grid: uniform steps",
        "edits": [("b95310d1", "return t_end * (1 - (1 - s) ** 2)", "return t_end * s")],
        "caught_by": "5a41489a",
    },
]

SETTINGS = {
    "2aee7b24": {
        "10": "the check's smallest number of steps (fmlib.checks.section_6_4.check_time_grid)",
        "15": "the check's largest number of steps (fmlib.checks.section_6_4.check_time_grid)",
        "0.8×": "the check's criterion (fmlib.checks.section_6_4.check_time_grid)",
    },
}
