"""Collecting and returning work for a simulated class: deploy/collect.py and nbgrader.

Three students' homes (as SystemdSpawner lays them out, each with the course folder that the
links pull into): ada solved the Section 6.3 exercises before the deadline, ben changed nothing
and saved after it, cyd never opened the notebook. collect.py copies the files into nbgrader's
submitted/ layout with their times; nbgrader (configured by deploy/nbgrader_config.py) grades
them and writes feedback; collect.py returns the feedback into each home.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[2]
NAME = "6_3_mathematical_foundations.ipynb"
BIN = Path(sys.executable).parent
DEADLINE = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.timezone.utc)


def _points(auto: bool = False) -> float:
    """Points of the solution notebook's grade cells (``auto``: only those nbgrader autogrades,
    the test cells that follow each task), read from its nbgrader metadata."""
    cells = nbformat.read(ROOT / "solutions" / NAME, as_version=4).cells
    meta = [c.metadata.get("nbgrader", {}) for c in cells]
    return float(
        sum(m.get("points", 0) for m in meta if m.get("grade") and not (auto and m.get("solution")))
    )


def _collect_module():
    spec = importlib.util.spec_from_file_location("collect", ROOT / "deploy" / "collect.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nbgrader(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _home_copy(home: Path, answers: dict[str, str], when: dt.datetime) -> None:
    nb = nbformat.read(ROOT / "exercises" / NAME, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    path = home / "flow-matching" / "exercises" / NAME
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.mark.slow
def test_a_class_is_collected_graded_and_given_feedback(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    collect = _collect_module()
    homes = tmp_path / "var-lib"
    for name in ["ada", "ben", "cyd"]:
        (homes / name).mkdir(parents=True)
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nbformat.read(ROOT / "solutions" / NAME, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    _home_copy(homes / "ada", solutions, DEADLINE - dt.timedelta(hours=2))
    _home_copy(homes / "ben", {}, DEADLINE + dt.timedelta(minutes=30))
    class_list = tmp_path / "class.txt"
    class_list.write_text("ada\nben\ncyd\n")

    course = tmp_path / "course"
    (course / "source" / "ps63").mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "nbgrader_config.py", course)
    shutil.copy(ROOT / "solutions" / NAME, course / "source" / "ps63")
    _nbgrader("generate_assignment", "ps63", "--create", "--force", cwd=course)
    _nbgrader("db", "assignment", "add", "ps63", "--duedate=2026-12-10 09:00:00 UTC", cwd=course)
    for name in ["ada", "ben", "cyd"]:
        _nbgrader("db", "student", "add", name, cwd=course)

    common = ["--course", str(course), "--assignment", "ps63", "--class-list", str(class_list)]
    common += ["--homes", f"{homes}/{{username}}"]
    collect.main(
        ["collect", *common, "--notebook", f"exercises/{NAME}", "--deadline", DEADLINE.isoformat()]
    )
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["ada", "ben"]  # cyd handed nothing in
    stamp = (submitted / "ada" / "ps63" / "timestamp.txt").read_text()
    assert stamp.startswith("2026-12-10 07:00:00")

    out = _nbgrader("autograde", "ps63", cwd=course)
    assert "ben" in out and "late" in out.lower()  # nbgrader read the timestamp
    _nbgrader("generate_feedback", "ps63", cwd=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        ada = gradebook.find_submission("ps63", "ada")
        ben = gradebook.find_submission("ps63", "ben")
        # ada handed in every answer: the autograded cells give her their points, the written
        # answers wait for the teacher (0 until graded); ben handed in the unsolved notebook
        assert (ada.score, ben.score, ada.max_score) == (_points(auto=True), 0.0, _points())
        assert 0 < _points(auto=True) < _points(), "the set has checked tasks and written answers"
        assert ada.late_submission_penalty == 0 and ben.total_seconds_late == 1800

    collect.main(["return", *common])
    html = homes / "ada" / "flow-matching" / "feedback" / "ps63" / NAME.replace(".ipynb", ".html")
    text = html.read_text()
    assert "check_posterior" in text or "Score" in text
    assert not (homes / "cyd" / "flow-matching").exists()  # nothing to return, nothing made
