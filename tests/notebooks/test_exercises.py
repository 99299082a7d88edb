"""exercises/ is generated from solutions/ (tools/make_exercises.py) and stays in sync; every
solution region is followed by a check; the student versions hold no solutions.

Executing them is `make test`'s job (nbval over solutions/ and exercises/): the solutions pass
every check (their hidden `assert`s fail the cell otherwise) and the exercises run top to bottom
unsolved (checks print "not implemented yet"; tests/notebooks/test_exercises_grading.py reads those lines).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat

# nbgrader is the `instructor` extra, which `make test` installs: missing, these tests fail, not skip
import nbgrader  # noqa: E402, F401
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
SECTIONS = [
    "6_1_cnf_to_flow_matching",
    "6_2_optimal_transport",
    "6_3_mathematical_foundations",
    "6_4_flow_matching_and_diffusion",
    "6_5_flow_matching_in_practice",
    "6_6_digits",
]


def _tool():
    spec = importlib.util.spec_from_file_location(
        "make_exercises", ROOT / "tools" / "make_exercises.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_one_notebook_per_section_and_the_chapter_exercise():
    names = {p.stem for p in SOLUTIONS}
    assert names == {
        *SECTIONS,
        "exercise_6_2_design_a_flow_matching_model",
        "capstone_checkerboard",
    }
    assert names == {p.stem for p in (ROOT / "exercises").glob("*.ipynb")}


def test_exercises_are_in_sync_with_solutions():
    result = subprocess.run(
        [sys.executable, "tools/make_exercises.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"exercises/ is stale; run `make exercises`\n{result.stdout}"


def test_check_mode_fails_when_an_exercise_is_stale(tmp_path, monkeypatch, capsys):
    tool = _tool()
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    source = ROOT / "solutions" / "6_4_flow_matching_and_diffusion.ipynb"
    (tmp_path / "solutions" / source.name).write_text(source.read_text())
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    monkeypatch.setattr(tool, "SOLUTIONS", tmp_path / "solutions")
    monkeypatch.setattr(tool, "EXERCISES", tmp_path / "exercises")
    assert tool.main(["--check"]) == 1  # missing
    assert tool.main([]) == 0
    assert tool.main(["--check"]) == 0
    target = tmp_path / "exercises" / source.name
    target.write_text(target.read_text().replace("Task 1", "Task one"))  # a hand edit
    assert tool.main(["--check"]) == 1
    (tmp_path / "exercises" / "orphan.ipynb").write_text(target.read_text())
    tool.main([])
    assert tool.main(["--check"]) == 1  # an exercise without a solution
    assert "orphan.ipynb" in capsys.readouterr().out


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_solution_region_is_followed_by_a_check(path):
    cells = nbformat.read(path, as_version=4).cells
    solutions = [
        i for i, c in enumerate(cells) if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source
    ]
    if path.stem[:3] in {"6_1", "6_2", "6_3", "6_4", "6_5"}:  # a section's problem set
        assert len(solutions) >= 5, "at least five coded tasks per section"
    else:
        assert len(solutions) >= 1
    for i in solutions:
        assert _nbgrader(cells[i]).get("solution"), (
            f"cell {i} has a solution region but no nbgrader metadata"
        )
        follower = cells[i + 1]
        meta = _nbgrader(follower)
        assert meta.get("grade") and meta.get("points", 0) > 0, f"cell {i + 1} is not a grade cell"
        assert "checks.check_" in follower.source
        assert (
            "### BEGIN HIDDEN TESTS" in follower.source
            and "assert checks.check_" in follower.source
        )
    written = [c for c in cells if c.cell_type == "markdown" and _nbgrader(c).get("solution")]
    assert written and all(_nbgrader(c).get("grade") for c in written), (
        "written answers are graded by hand"
    )
    ids = [_nbgrader(c)["grade_id"] for c in cells if _nbgrader(c)]
    assert len(ids) == len(set(ids))
    assert "fm.configure(seed=0, requires=" in cells[1].source + cells[2].source
    assert "fm.runtime.finish(budget_s=60)" in cells[-1].source


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_exercises_hold_no_solutions(path):
    exercise = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    assert (
        "Generated from" in exercise.cells[0].source and "do not edit" in exercise.cells[0].source
    )
    for cell in exercise.cells:
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert marker not in cell.source
        assert not cell.get("outputs")
        if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
            assert "raise NotImplementedError()" in cell.source
        if cell.cell_type == "markdown" and _nbgrader(cell).get("solution"):
            assert cell.source == "YOUR ANSWER HERE"


@pytest.mark.parametrize("section", SECTIONS)
def test_section_notebooks_have_a_matching_exercise(section):
    assert (ROOT / "exercises" / f"{section}.ipynb").exists()
