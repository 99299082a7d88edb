"""Write exercises/ from solutions/ with nbgrader's own preprocessors: `make exercises`.

solutions/*.ipynb are the one source. Each exercise notebook is its solution notebook with
  * every region between `### BEGIN SOLUTION` and `### END SOLUTION` replaced by a stub that
    raises NotImplementedError (markdown answer cells by "YOUR ANSWER HERE"): ClearSolutions;
  * every region between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS` removed:
    ClearHiddenTests (nbgrader's autograder restores them from solutions/ when grading);
  * outputs cleared, grade cells locked and checksummed (LockCells, ClearOutput,
    ComputeChecksums, CheckCellMetadata), exactly as `nbgrader generate_assignment` does;
  * a first cell saying it is generated and must not be edited.

    python tools/make_exercises.py           # write exercises/
    python tools/make_exercises.py --check   # exit 1 (and name the files) if exercises/ is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
BANNER_ID = "generated-banner"


def banner(name: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(
        f"> **Generated from the solution notebook `solutions/{name}` by `make exercises`: do "
        "not edit this file.** Teachers change the solution notebook and run `make exercises` "
        "again (`tests/notebooks/test_exercises.py` fails while the two disagree). Solutions are not part "
        "of the students' copy of the course, so this is a name, not a link."
    )
    cell.id = BANNER_ID
    return cell


def exercise(solution: Path, banner_text: str | None = None) -> str:
    """The exercise notebook generated from one solution notebook, as the text to write; its
    first cell says so (``banner_text`` instead: the students' release, the Chinese edition)."""
    nb = nbformat.read(solution, as_version=4)
    resources: dict = {}
    for preprocessor in (
        LockCells(),
        ClearSolutions(),
        ClearOutput(),
        CheckCellMetadata(),
        ComputeChecksums(),
        ClearHiddenTests(),
        ClearMarkScheme(),
        ComputeChecksums(),
        CheckCellMetadata(),
    ):
        nb, resources = preprocessor.preprocess(nb, resources)
    first = banner(solution.name)
    if banner_text is not None:
        first.source = banner_text
    nb.cells.insert(0, first)
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if exercises/ is stale")
    args = parser.parse_args(argv)
    solutions = sorted(SOLUTIONS.glob("*.ipynb"))
    expected = {EXERCISES / s.name: exercise(s) for s in solutions}
    stale = [p for p, text in expected.items() if not p.exists() or p.read_text() != text]
    orphans = [p for p in EXERCISES.glob("*.ipynb") if p not in expected]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run `make exercises`)")
        for path in orphans:
            print(f"no solution for: {path.relative_to(ROOT)}")
        return 1 if stale or orphans else 0
    for path in stale:
        path.write_text(expected[path])
        print(f"wrote {path.relative_to(ROOT)}")
    for path in orphans:
        print(f"warning: {path.relative_to(ROOT)} has no solution notebook; left alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
