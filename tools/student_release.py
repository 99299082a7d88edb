"""The students' copy of the course, without answers: `make student-release`.

Students get the course through nbgitpuller links, Binder and the class image, and all three copy a
whole git tree into their home. This repository's tree holds the answers (solutions/, the teacher's
guide), so students are given another tree, built here:

  * notebooks/ (the five sections and the glossary), fmlib/, pyproject.toml, environment.yml;
  * exercises/ generated afresh from solutions/ with nbgrader's preprocessors
    (tools/make_exercises.py), its banner replaced by one for students (the teacher's banner
    points at solutions/), and exercises/README.md without its section for teachers;
  * a short README for students;
  * the Chinese edition the same way (zh/notebooks/ as it is, zh/exercises/ generated afresh from
    zh/solutions/, a Chinese README for students), written by `make i18n`;
  * nothing else: no solutions/, TEACHING.md, deploy/, tools/, tests/, book/ (nor their Chinese).

fmlib itself stays: the checks compare a student's function with its references, and the sections
use it. So a task that re-derives a library function has a close reference there (fm.ot's kinetic
energy shares two of the three lines of that task's answer); the scan below allows that and
refuses any file that holds a whole answer.

Then every file is scanned for the answers: the code between `### BEGIN SOLUTION` and
`### END SOLUTION`, the hidden tests, the model answers of written questions, and any notebook
whose cells carry nbgrader's solution metadata. The build fails on any leak.

    python tools/student_release.py --out build/student                 # the folder
    python tools/student_release.py --out build/student --branch student   # ... committed to a branch
    python tools/student_release.py --check build/student                # scan an existing tree

With --branch, the folder is committed to that branch of this repository (a new commit on top of
the branch's previous release, so students' nbgitpuller pulls are fast-forwards); push it and tag
it (`git push origin student && git tag v0.5.0-student student && git push --tags`). The links
(deploy/links.py), the Binder badge and the image (deploy/build-image.sh) name that branch or tag.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_exercises  # noqa: E402  (tools/ is not a package)

# What a student's tree holds, copied as they are (exercises/ and the READMEs are generated).
COPIED = ["notebooks", "fmlib", "pyproject.toml", "environment.yml", "LICENSE"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")
TEACHER_ONLY = ["solutions", "TEACHING.md", "deploy", "tools", "tests", "book", "Makefile"]

STUDENT_BANNER = (
    "> **Exercises for Chapter 6.** Run the notebook top to bottom: it runs before you solve "
    "anything. Fill in each function that raises `NotImplementedError`; the cell after it prints "
    "**✔** or a hint. Written answers go where it says *YOUR ANSWER HERE*."
)

STUDENT_BANNER_ZH = (
    "> **第 6 章练习。** 请从头到尾运行本笔记本：不解任何题它也能运行。把每个抛出 "
    "`NotImplementedError` 的函数补写完整；其后的单元会打印 **✔** 或一条提示。书面回答写在标有 "
    "*YOUR ANSWER HERE* 的地方。"
)
STUDENT_README_ZH = """\
# 流匹配 · 交互式学习：第 6 章（学生版）

- `zh/notebooks/`：第 6 章“流匹配”各节的中文笔记本与术语表。每本从头到尾运行一遍（约一分钟）；
  **动手试试** 提示你可以改动什么。英文版在 `notebooks/`。
- `zh/exercises/`：每节一本练习，另有教材的练习 6.2。每道题边做边检验。英文版在 `exercises/`。

你的修改归你所有：老师发布更正后，再点一次课程链接即可取得更正，同时保留你的修改。你改过的笔记本中，
若某个单元老师也改了，保留的是你的版本；想要老师的版本，请先给你的笔记本改名（File > Rename），
再点一次链接。

**一次只开一个笔记本。** 每个打开的笔记本都有一个 Python 内核，模型留在内存中。打开下一本之前，
请关闭正在离开的那一本的内核（Kernel > Shut Down Kernel）。若内核崩溃（"Kernel Restarting"），
请先关闭其他笔记本的内核，再选 Kernel > Restart and Run All Cells。
"""
STUDENT_README = """\
# Flow Matching, Interactively: Chapter 6, students' copy

- `notebooks/`: the five section notebooks of Chapter 6 ("Flow Matching") and a glossary. Run each
  top to bottom (about a minute); the **Try it** prompts tell you what to change.
- `exercises/`: one exercise notebook per section, the chapter's Exercise 6.2 and a capstone. Each task is
  checked as you go.

Your edits are yours: when your teacher publishes a fix, clicking the course link again brings it
and keeps your edits. A notebook you have changed keeps your version of a changed cell; to get the
teacher's version, rename your notebook (File > Rename) and click the link again.

**One notebook at a time.** Each open notebook keeps a Python kernel with its models in memory.
Before opening the next notebook, shut down the one you are leaving (Kernel > Shut Down Kernel).
If a kernel dies ("Kernel Restarting"), shut down the other notebooks' kernels, then Kernel >
Restart and Run All Cells.
"""


# ------------------------------------------------------------------------------------------------
# The answers, as found in solutions/
# ------------------------------------------------------------------------------------------------
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)\n(.*?)### END \1", re.DOTALL)


def _lines(text: str, min_chars: int) -> list[str]:
    """The distinctive lines of a text: stripped, long enough to be more than boilerplate."""
    out = []
    for line in text.splitlines():
        line = " ".join(re.sub(r"\s+#.*$", "", line).split())  # a trailing comment is no answer
        if len(line) >= min_chars and not line.startswith("#"):
            out.append(line)
    return out


def answers(solutions: Path) -> list[tuple[str, list[str]]]:
    """(where, distinctive lines) for every answer in solutions/*.ipynb."""
    found = []
    for path in sorted(solutions.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id", cell.get("id", "?"))
            for kind, body in REGION.findall(cell.source):
                lines = _lines(body, 12)
                if lines:
                    found.append((f"{path.name} {grade_id} ({kind.lower()})", lines))
            if cell.cell_type == "markdown" and meta.get("solution"):
                lines = _lines(cell.source, 30)
                if lines:
                    found.append((f"{path.name} {grade_id} (model answer)", lines))
    return found


def leaks(tree: Path, solutions: Path = ROOT / "solutions") -> list[str]:
    """Every way the answers reach ``tree``; empty when none does.

    A file leaks a coded answer when it holds every distinctive line of it (in any order, comments
    aside; a line such as ``return div`` is no answer), and a written answer when it holds any
    line of the model answer. Also
    reported: anything named solutions, any teacher-only page, and any notebook with a cell that
    nbgrader's metadata marks as a solution while still holding a solution region.
    """
    problems = []
    secrets = answers(solutions)
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and ".git" not in p.parts):
        rel = path.relative_to(tree)
        top = rel.parts[1] if rel.parts[0] == "zh" and len(rel.parts) > 1 else rel.parts[0]
        if "solutions" in rel.parts or top in TEACHER_ONLY:
            problems.append(f"{rel}: a teacher-only file")
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if "### BEGIN SOLUTION" in text or "### BEGIN HIDDEN TESTS" in text:
            problems.append(f"{rel}: holds a solution or hidden-test region")
        source = _source_text(path, text)
        present, flat = set(_lines(source, 1)), " ".join(source.split())
        for where, lines in secrets:
            if where.endswith("(model answer)"):  # prose: a sentence anywhere, rewrapped or not
                hits = sum(line in flat for line in lines)
            else:
                hits = sum(line in present for line in lines)
            if hits == len(lines) or (hits and where.endswith("(model answer)")):
                problems.append(f"{rel}: {hits} of {len(lines)} lines of {where}")
    return problems


def _source_text(path: Path, text: str) -> str:
    """A notebook's cell sources (outputs included), one per line as written; other files as they are."""
    if path.suffix != ".ipynb":
        return text
    nb = nbformat.reads(text, as_version=4)
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            parts.extend(str(v) for v in out.get("data", {}).values())
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------
# Building the tree
# ------------------------------------------------------------------------------------------------
def _exercises_readme(text: str) -> str:
    """exercises/README.md for students: the table and "For students", nothing for teachers
    (the Chinese page marks the same places with the same words in Chinese)."""
    table = re.split(r"\*\*Do not edit these files\.\*\*|\*\*请勿编辑这些文件。\*\*", text)[
        0
    ].rstrip()
    students = re.search(r"## (?:For students|给学生[^\n]*)\n(.*?)(?=\n## |\Z)", text, re.DOTALL)
    if students and "给学生" in students.group(0).splitlines()[0]:
        return f"{table}\n\n{students.group(0).rstrip()}\n"
    body = f"\n\n## For students\n{students.group(1).rstrip()}" if students else ""
    return f"{table}{body}\n"


def build(out: Path, root: Path = ROOT) -> Path:
    """Write the students' tree to ``out`` (replacing it); returns ``out``."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in COPIED:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=IGNORED)
        elif src.exists():
            shutil.copy2(src, out / name)
    (out / "exercises").mkdir()
    for solution in sorted((root / "solutions").glob("*.ipynb")):
        text = make_exercises.exercise(solution, STUDENT_BANNER)
        (out / "exercises" / solution.name).write_text(text)
    readme = root / "exercises" / "README.md"
    if readme.exists():
        (out / "exercises" / "README.md").write_text(_exercises_readme(readme.read_text()))
    (out / "README.md").write_text(STUDENT_README)
    zh = root / "zh"
    if (zh / "notebooks").is_dir():  # the Chinese edition, laid out the same way
        shutil.copytree(zh / "notebooks", out / "zh" / "notebooks", ignore=IGNORED)
        (out / "zh" / "exercises").mkdir(parents=True)
        for solution in sorted((zh / "solutions").glob("*.ipynb")):
            text = make_exercises.exercise(solution, STUDENT_BANNER_ZH)
            (out / "zh" / "exercises" / solution.name).write_text(text)
        readme = zh / "exercises" / "README.md"
        if readme.exists():
            text = _exercises_readme(readme.read_text())
            (out / "zh" / "exercises" / "README.md").write_text(text)
        (out / "README.zh-CN.md").write_text(STUDENT_README_ZH)
    (out / ".gitignore").write_text(".ipynb_checkpoints/\n__pycache__/\n*.egg-info/\n")
    return out


def _git(*args: str, env=None, cwd=ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(tree: Path, branch: str, root: Path = ROOT) -> str:
    """Commit ``tree`` as the new tip of ``branch`` in ``root``'s repository; returns the commit.

    Uses its own index, so the teacher's working tree and staging area are untouched. The commit's
    parent is the branch's previous tip (if any), so a student's pull is a fast-forward.
    """
    source = _git("rev-parse", "--short", "HEAD", cwd=root)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(f"--work-tree={tree}", "add", "--all", "--force", ".", env=env, cwd=root)
        tree_id = _git("write-tree", env=env, cwd=root)
    parent = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=root, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if parent and _git("rev-parse", f"{parent}^{{tree}}", cwd=root) == tree_id:
        return parent  # nothing changed since the last release
    args = ["commit-tree", tree_id, "-m", f"Students' release of {source} (no solutions)"]
    if parent:
        args[2:2] = ["-p", parent]
    new = _git(*args, cwd=root)
    _git("update-ref", f"refs/heads/{branch}", new, *([parent] if parent else []), cwd=root)
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    parser.add_argument("--branch", help="also commit the tree to this branch (e.g. student)")
    parser.add_argument("--check", type=Path, metavar="TREE", help="only scan TREE for answers")
    args = parser.parse_args(argv)
    tree = args.check or build(args.out)
    problems = leaks(tree)
    if (ROOT / "zh" / "solutions").is_dir():  # the Chinese model answers are other words
        problems += [p for p in leaks(tree, ROOT / "zh" / "solutions") if p not in problems]
    for problem in problems:
        print(f"LEAK {problem}")
    if problems:
        return 1
    files = sum(1 for p in tree.rglob("*") if p.is_file())
    print(f"{tree}: {files} files, no solutions, no answers")
    if args.branch and not args.check:
        print(f"branch {args.branch}: {commit(tree, args.branch)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
