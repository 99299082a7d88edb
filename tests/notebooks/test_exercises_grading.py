"""A small class graded with nbgrader, as exercises/README.md tells a teacher to do.

Course directory in a temporary folder; the assignment is the Section 6.2 exercises (two
autograded tasks of 1 point each, one written answer of 1 point graded by hand). Three students
submit the exercise notebook from exercises/: solved, half solved (one task wrong), untouched.
`nbgrader autograde` runs each submission with the hidden tests restored from solutions/ and
writes the points to the gradebook database, which we read back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

# nbgrader is the `instructor` extra, which `make test` installs: missing, these tests fail, not skip
import nbgrader  # noqa: E402, F401
import pytest
from nbgrader.api import Gradebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NAME = "6_2_optimal_transport.ipynb"
BIN = Path(sys.executable).parent  # nbgrader and the `alembic` it calls live beside python

WRONG_PAIRING = """
import scipy.optimize


def ot_pairing(x_0, x_1):
    rows, cols = scipy.optimize.linear_sum_assignment(torch.cdist(x_0, x_1).pow(2).numpy())
    return torch.as_tensor(cols)  # the inverse permutation: a classic slip
"""


def _solutions_by_id() -> dict[str, str]:
    nb = nbformat.read(ROOT / "solutions" / NAME, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def _submission(answers: dict[str, str]) -> nbformat.NotebookNode:
    """The student's copy from exercises/ with some answer cells filled in."""
    nb = nbformat.read(ROOT / "exercises" / NAME, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def _run(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_a_class_is_autograded_into_the_gradebook(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    course = tmp_path / "course"
    (course / "source" / "ps62").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / NAME, course / "source" / "ps62" / NAME)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'fm'\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    _run("generate_assignment", "ps62", "--create", "--force", cwd=course)

    # what nbgrader hands out is exactly our exercises/ notebook (less the banner cell)
    released = nbformat.read(course / "release" / "ps62" / NAME, as_version=4)
    ours = nbformat.read(ROOT / "exercises" / NAME, as_version=4)
    assert [c.source for c in released.cells] == [c.source for c in ours.cells[1:]]
    assert [c.metadata.get("nbgrader") for c in released.cells] == [
        c.metadata.get("nbgrader") for c in ours.cells[1:]
    ]

    solutions = _solutions_by_id()
    submissions = {
        "ada": _submission(solutions),  # everything right
        "bob": _submission(
            {**solutions, "ot_pairing": WRONG_PAIRING, "written_ot": "I do not know."}
        ),
        "cyd": _submission({}),  # handed in untouched
    }
    for student, nb in submissions.items():
        folder = course / "submitted" / student / "ps62"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NAME)
        _run("db", "student", "add", student, cwd=course)
    _run("autograde", "ps62", "--force", cwd=course)

    expected = {"ada": 2.0, "bob": 1.0, "cyd": 0.0}  # autograded points of 2; +1 written, by hand
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, points in expected.items():
            submission = gradebook.find_submission("ps62", student)
            assert submission.max_score == 3.0
            assert submission.score == points, student
            grades = {g.name: g.auto_score for g in submission.notebooks[0].grades}
            assert grades["check_kinetic_energy"] == (1.0 if student != "cyd" else 0.0)
            assert grades["check_ot_pairing"] == (1.0 if student == "ada" else 0.0)
            # a written answer waits for the teacher; an untouched one scores 0 at once
            assert submission.needs_manual_grade == (student != "cyd")

    # the untouched submission ran to the end, its checks saying "not implemented yet"
    graded = nbformat.read(course / "autograded" / "cyd" / "ps62" / NAME, as_version=4)
    text = "".join(
        o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs
    )
    assert text.count("not implemented yet") == 2
    assert "notebook run time" in text
