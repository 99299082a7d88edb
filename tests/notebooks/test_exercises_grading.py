"""A small class graded with nbgrader, as exercises/README.md tells a teacher to do.

Course directory in a temporary folder; the assignment is the Section 6.2 exercises (autograded
tasks and written answers graded by hand). Three students submit the exercise notebook from
exercises/: solved, half solved (the OT pairing wrong, a written answer empty of content),
untouched. `nbgrader autograde` runs each submission with the hidden tests restored from
solutions/ and writes the points to the gradebook database; the teacher then grades the written
answers through nbgrader's API against the rubric (full points for the model answer, none for "I
do not know."), and `nbgrader generate_feedback` writes each student's feedback. The expected
totals come from the notebook's own nbgrader metadata (points per cell), so a task added to the
notebook changes them without breaking the test.
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


def _points() -> dict[str, tuple[float, bool]]:
    """grade_id -> (points, graded by hand) for every graded cell of the solution notebook."""
    nb = nbformat.read(ROOT / "solutions" / NAME, as_version=4)
    out = {}
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade"):
            out[meta["grade_id"]] = (float(meta["points"]), c.cell_type == "markdown")
    return out


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

    points = _points()
    total = sum(p for p, _ in points.values())
    written = {g: p for g, (p, by_hand) in points.items() if by_hand}
    assert "check_ot_pairing" in points and "written_ot" in written
    auto_total = total - sum(written.values())
    autograded = {
        "ada": auto_total,
        "bob": auto_total - points["check_ot_pairing"][0],
        "cyd": 0.0,
    }
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, expected in autograded.items():
            submission = gradebook.find_submission("ps62", student)
            assert submission.max_score == total
            assert submission.score == expected, student
            grades = {g.name: g.auto_score for g in submission.notebooks[0].grades}
            assert grades["check_ot_pairing"] == (
                points["check_ot_pairing"][0] if student == "ada" else 0.0
            )
            # a written answer waits for the teacher; an untouched one scores 0 at once
            assert submission.needs_manual_grade == (student != "cyd")

        # the teacher grades the written answers against the rubric in the solution notebook
        rubric = {
            "ada": lambda g: written[g],
            "bob": lambda g: 0.0 if g == "written_ot" else written[g],
        }
        for student, score in rubric.items():
            for grade_id in written:
                grade = gradebook.find_grade(grade_id, NAME[: -len(".ipynb")], "ps62", student)
                assert grade.needs_manual_grade
                grade.manual_score = score(grade_id)
                grade.needs_manual_grade = False  # as the formgrader does on saving a score
        gradebook.db.commit()

        finals = {
            "ada": total,
            "bob": total - points["check_ot_pairing"][0] - written["written_ot"],
            "cyd": 0.0,
        }
        for student, expected in finals.items():
            submission = gradebook.find_submission("ps62", student)
            assert submission.score == expected, student
            assert not submission.needs_manual_grade
        assert finals["ada"] > finals["bob"] > finals["cyd"]

    # feedback for every student, with the scores the gradebook holds
    _run("generate_feedback", "ps62", "--force", cwd=course)
    for student, expected in finals.items():
        html = (
            course / "feedback" / student / "ps62" / NAME.replace(".ipynb", ".html")
        ).read_text()
        # the notebook's heading line: (Score: 3.0 / 3.0), as nbgrader's feedback template rounds
        assert f"(Score: {round(expected, 2)} / {round(total, 2)})" in html, student

    # the untouched submission ran to the end, its checks saying "not implemented yet"
    graded = nbformat.read(course / "autograded" / "cyd" / "ps62" / NAME, as_version=4)
    text = "".join(
        o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs
    )
    tasks = [
        c
        for c in nbformat.read(ROOT / "solutions" / NAME, as_version=4).cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]
    assert text.count("not implemented yet") == len(tasks)
    assert "notebook run time" in text
