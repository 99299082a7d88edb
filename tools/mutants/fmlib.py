"""Library mutants: plausible bugs in fmlib's options, each caught by a fast unit test.

``tools/mutate.py`` copies the repository, applies a mutant's edits there and runs its tests
with ``-m "not slow"``: a mutant is caught when at least one of them fails. The core numerics
(steps, losses, closed forms) are covered by the whole suite; these are the bugs that passed an
option along wrongly, or dropped it, and that a first mutation run found no fast test for.
"""

MUTANTS = [
    {
        "name": "sampler ignores steps",
        "edits": [
            (
                "fmlib/solvers.py",
                "return solve(v, torch.randn(n, dim, generator=generator), method=method, steps=steps).x",
                "return solve(v, torch.randn(n, dim, generator=generator), method=method).x",
            )
        ],
        "tests": ["tests/test_solvers.py::test_sampler_uses_steps"],
    },
    {
        "name": "train_cnf_mle drops its divergence argument",
        "edits": [
            (
                "fmlib/training.py",
                "            divergence=divergence,\n",
                "",
            )
        ],
        "tests": [
            "tests/test_training.py::test_cnf_mle_loss_is_the_negative_log_likelihood_with_the_given_divergence"
        ],
    },
    {
        "name": "the adjoint maps heun to torchdiffeq's midpoint",
        "edits": [
            (
                "fmlib/solvers.py",
                'method={"heun": "heun2"}.get(method, method),',
                'method={"heun": "midpoint"}.get(method, method),',
            )
        ],
        "tests": ["tests/test_solvers.py::test_adjoint_takes_the_named_fixed_step_method"],
    },
    {
        "name": "p_uncond comparison flipped (labels kept with probability p_uncond)",
        "edits": [
            (
                "fmlib/training.py",
                "drop = torch.rand(batch_size, generator=gen) < p_uncond",
                "drop = torch.rand(batch_size, generator=gen) > p_uncond",
            )
        ],
        "tests": ["tests/test_training.py::test_p_uncond_is_the_probability_of_the_null_class"],
    },
    {
        "name": "class labels drawn independently of x",
        "edits": [
            (
                "fmlib/training.py",
                "return data[idx], (labels[idx] if labels is not None else None)",
                "return data[idx], (\n"
                "            labels[torch.randint(0, data.shape[0], (n,), generator=g)]\n"
                "            if labels is not None\n"
                "            else None\n"
                "        )",
            )
        ],
        "tests": ["tests/test_training.py::test_labels_stay_with_their_points"],
    },
    {
        "name": "Sinkhorn's reg not relative to the mean cost",
        "edits": [
            (
                "fmlib/couplings.py",
                "plan = pot.sinkhorn(w, w, cost / scale, reg)",
                "plan = pot.sinkhorn(w, w, cost, reg)",
            )
        ],
        "tests": ["tests/test_couplings.py::test_sinkhorn_pairs_the_same_points_at_any_scale"],
    },
    {
        "name": "Hutchinson averaged over k - 1 probes",
        "edits": [
            (
                "fmlib/likelihood.py",
                "return samples if return_samples else samples.mean(dim=0)",
                "return samples if return_samples else samples.sum(dim=0) / max(k - 1, 1)",
            )
        ],
        "tests": ["tests/test_likelihood.py::test_hutchinson_variance_falls_as_one_over_k"],
    },
    {
        "name": "straightness as a ratio of means",
        "edits": [
            (
                "fmlib/ot.py",
                "return float((chord / length).mean())",
                "return float(chord.mean() / length.mean())",
            )
        ],
        "tests": ["tests/test_ot.py::test_straightness_is_the_mean_of_each_particles_ratio"],
    },
    {
        "name": "client export drops a control an array depends on",
        "edits": [
            (
                "fmlib/widgets/client.py",
                "    dims = [i for i in range(len(counts)) if _depends(stack, i)]\n",
                "    dims = [i for i in range(len(counts)) if _depends(stack, i)][1:]\n",
            )
        ],
        "tests": ["tests/test_widgets_client.py::test_posterior_export_equals_every_state"],
    },
    {
        "name": "the page's report does not reach the explorer's controls",
        "edits": [
            (
                "fmlib/widgets/shell.py",
                "                self.controls[name].value = value\n",
                "                self.state[name] = value\n",
            )
        ],
        "tests": [
            "tests/test_widgets_client.py::test_the_page_reports_its_state_back_to_the_explorer"
        ],
    },
]
