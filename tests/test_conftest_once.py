"""Each section notebook runs once per `make test`: in JupyterLab when its browser run is collected
and a browser is there, else by nbval (the repository's conftest.py decides)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("_root_conftest", ROOT / "conftest.py")
root_conftest = importlib.util.module_from_spec(spec)
spec.loader.exec_module(root_conftest)

RUN = "tests/browser/test_notebook_6_3.py::test_notebook_runs_in_browser[6_3_mathematical_foundations]"


def test_a_collected_browser_run_takes_the_notebook_from_nbval():
    ids = [RUN, "notebooks/6_3_mathematical_foundations.ipynb::Cell 0", "tests/test_x.py::test_y"]
    assert root_conftest.run_in_browser(ids, True) == {
        "notebooks/6_3_mathematical_foundations.ipynb"
    }


def test_nbval_keeps_the_notebook_without_a_browser_or_without_its_browser_run():
    assert root_conftest.run_in_browser([RUN], False) == set()
    other = "tests/browser/test_notebook_6_3.py::test_flow_explorer[6_3_mathematical_foundations]"
    assert root_conftest.run_in_browser([other], True) == set()


def test_every_section_notebook_has_its_browser_run():
    for notebook in sorted((ROOT / "notebooks").glob("6_*.ipynb")):
        module = ROOT / "tests" / "browser" / f"test_notebook_{notebook.stem[:3]}.py"
        assert module.exists(), f"{notebook.name} has no browser run ({module.name})"
        assert notebook.stem in module.read_text(), f"{module.name} does not run {notebook.name}"


def test_files_that_run_a_notebook_go_first_and_each_file_stays_in_order():
    ids = [
        "tests/test_a.py::test_1",
        "notebooks/6_3_mathematical_foundations.ipynb::Cell 0",
        "tests/test_a.py::test_2",
        "notebooks/6_3_mathematical_foundations.ipynb::Cell 1",
        "zh/notebooks/6_1_cnf_to_flow_matching.ipynb::Cell 0",
        "tests/browser/test_notebook_6_2.py::test_notebook_runs_in_browser[6_2_optimal_transport]",
        "zh/solutions/6_1_cnf_to_flow_matching.ipynb::Cell 0",
    ]
    order = [ids[i] for i in root_conftest.long_files_first(ids)]
    assert order == [ids[1], ids[3], ids[4], ids[5], ids[0], ids[2], ids[6]]
