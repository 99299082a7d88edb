"""tools/student_release.py: the students' tree holds the course and none of the answers."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location(
        "student_release", ROOT / "tools" / "student_release.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = _module()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return release.build(tmp_path_factory.mktemp("release") / "student")


def _copy(tree: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tree, tmp_path / "copy"))


def test_the_tree_holds_the_course_and_nothing_for_teachers(tree):
    top = {p.name for p in tree.iterdir()}
    assert {"notebooks", "exercises", "fmlib", "pyproject.toml", "environment.yml"} <= top
    assert not top & {"solutions", "TEACHING.md", "deploy", "tools", "tests", "book", "Makefile"}
    assert sorted(p.name for p in (tree / "exercises").glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "solutions").glob("*.ipynb")
    )
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert (tree / "notebooks" / nb.name).read_bytes() == nb.read_bytes()
    assert release.leaks(tree) == []


def test_the_chinese_edition_is_there_the_same_way(tree):
    assert not (tree / "zh" / "solutions").exists() and not (tree / "zh" / "TEACHING.md").exists()
    for nb in (ROOT / "zh" / "notebooks").glob("*.ipynb"):
        assert (tree / "zh" / "notebooks" / nb.name).read_bytes() == nb.read_bytes()
    names = sorted(p.name for p in (tree / "zh" / "exercises").glob("*.ipynb"))
    assert names == sorted(p.name for p in (ROOT / "zh" / "solutions").glob("*.ipynb"))
    for path in (tree / "zh" / "exercises").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].source == release.STUDENT_BANNER_ZH
        assert "raise NotImplementedError" in "".join(c.source for c in nb.cells)
        assert 'lang="zh"' in "".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "zh/notebooks" in (tree / "README.zh-CN.md").read_text()
    # a Chinese model answer copied into a student's file is found like an English one
    planted = tree / "zh" / "notebooks" / "planted.md"
    answers = release.answers(ROOT / "zh" / "solutions")
    written = next(lines for where, lines in answers if where.endswith("(model answer)"))
    planted.write_text(written[0])
    try:
        assert release.leaks(tree, ROOT / "zh" / "solutions")
    finally:
        planted.unlink()


def test_exercises_are_generated_stubs_with_a_banner_for_students(tree):
    for path in (tree / "exercises").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].source == release.STUDENT_BANNER
        assert "raise NotImplementedError" in "".join(c.source for c in nb.cells)
    for path in tree.rglob("*"):
        if path.suffix in (".md", ".ipynb"):
            assert "../solutions" not in path.read_text(), path  # no link into a missing folder
    readme = (tree / "exercises" / "README.md").read_text()
    assert "For students" in readme and "For teachers" not in readme


def test_the_scan_sees_a_solution_file_a_pasted_answer_and_a_model_answer(tree, tmp_path):
    copy = _copy(tree, tmp_path)
    (copy / "solutions").mkdir()
    shutil.copy(ROOT / "solutions" / "6_2_optimal_transport.ipynb", copy / "solutions")
    # a solution region pasted into an exercise cell, comments and indentation changed
    secrets = dict(release.answers(ROOT / "solutions"))
    code = secrets["6_1_cnf_to_flow_matching.ipynb divergence (solution)"]
    ex = copy / "exercises" / "6_1_cnf_to_flow_matching.ipynb"
    nb = nbformat.read(ex, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("\n".join(f"  {line}  # mine" for line in code)))
    nbformat.write(nb, ex)
    # one sentence of a model answer in a README
    prose = secrets["6_2_optimal_transport.ipynb written_ot (model answer)"][1]
    (copy / "README.md").write_text(f"Hint: {prose}\n")
    problems = "\n".join(release.leaks(copy))
    assert "solutions/6_2_optimal_transport.ipynb: a teacher-only file" in problems
    assert "exercises/6_1_cnf_to_flow_matching.ipynb: " in problems and "divergence" in problems
    assert "README.md: 1 of" in problems and "written_ot (model answer)" in problems


def test_a_build_that_forgets_to_clear_solutions_is_refused(tmp_path, monkeypatch):
    # exercises written from the solution notebooks unchanged (a broken generator)
    monkeypatch.setattr(
        release.make_exercises,
        "exercise",
        lambda path, banner_text=None: json.dumps(
            {**json.loads(path.read_text()), "cells": [
                nbformat.v4.new_markdown_cell("x", id=release.make_exercises.BANNER_ID),
                *json.loads(path.read_text())["cells"],
            ]}
        ),
    )  # fmt: skip
    tree = release.build(tmp_path / "student")
    problems = release.leaks(tree)
    assert any("holds a solution or hidden-test region" in p for p in problems)
    assert release.main(["--check", str(tree)]) == 1


def test_the_branch_is_a_fast_forward_of_the_last_release(tree, tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    first = release.commit(tree, "student", root=repo)
    assert release.commit(tree, "student", root=repo) == first  # nothing new, no new commit
    (tree / "notebooks" / "glossary.md").write_text("fixed\n")
    try:
        second = release.commit(tree, "student", root=repo)
    finally:
        shutil.copy(ROOT / "notebooks" / "glossary.md", tree / "notebooks" / "glossary.md")
    git = lambda *a: subprocess.run(  # noqa: E731
        ["git", *a], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.split()
    assert git("rev-list", "--parents", "-n1", second) == [second, first]
    files = git("ls-tree", "-r", "--name-only", "student")
    assert "notebooks/6_1_cnf_to_flow_matching.ipynb" in files
    assert not [f for f in files if f.startswith(("solutions/", "TEACHING"))]
    assert git("status", "--porcelain") == []  # the teacher's checkout is untouched
