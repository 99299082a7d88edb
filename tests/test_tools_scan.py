"""tools/scan_notebooks.py: which prose numbers count, what covers them, section scoping, the
spec's Try its and SETTINGS, and code-cell shape; on tests/fixtures/tools/ with outputs made
here (no kernel) and once executed by the tool itself."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "tools"
TOOL = ROOT / "tools" / "scan_notebooks.py"
NOTEBOOK = "notebooks/tiny.ipynb"


def _tool():
    spec = importlib.util.spec_from_file_location("fm_tool_scan", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


scan = _tool()


def numbers(markdown: str) -> list[str]:
    return [n for n, _, head in scan.prose_numbers(markdown) if head is None]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("The error falls to 0.67 after 1200 steps.", ["0.67", "1200"]),
        (
            "Inline math $x = 0.5$ and $$\\sigma = 0.25$$ and \\(k = 16\\) are skipped, 0.3 is not.",
            ["0.3"],
        ),
        ("Inline `block_size=64` and\n```\nlr = 5e-3\n```\nafter 0.9", ["0.9"]),
        ("# 6.2 标题 · Title 0.5\n## Heading 17\ntext 18", ["18"]),
        ("A [link 0.7](https://example.com/0.8) and https://x.org/12 and <!-- 99 -->", ["0.7"]),
        ("Section 6.4, Exercise 6.2, (6.7), 6.2.3 and notebook 6.5 are references.", []),
        ("but the ratio ≈ 6.3 is a claim, and = 6.1 too", ["6.3", "6.1"]),
        ("W2 and L2, x_0, a 2-D plane, float32, the 3rd, 2026-11-29, a 3×3 grid, 8x8", []),
        (
            "Two moons, 3 layers, part (1), t = 1, but 5% and 3× and about 4 count",
            ["5%", "3×", "4"],
        ),
        (
            "blocks of 64 pay 1.55× and 1.2x more; 10,000 points; −0.25 below zero",
            ["64", "1.55×", "1.2×", "10,000", "−0.25"],
        ),
        ("an en-dash range 16–32 is two numbers", ["16", "32"]),
    ],
)
def test_which_numbers_count(markdown, expected):
    assert numbers(markdown) == expected


@pytest.mark.parametrize(
    ("prose", "printed", "covered"),
    [
        ("0.15", "0.1487", True),
        ("0.15", "0.1449", False),
        ("0.40", "0.4", True),
        ("104", "104", True),
        ("104", "105", False),
        ("104", "104.3", True),  # an integer in prose: a printed decimal within 0.5
        ("12%", "0.121", True),
        ("12%", "12.4%", True),
        ("1.55×", "1.553", True),
        ("0.5", "-0.5", True),  # unsigned prose ignores the printed sign
        ("−0.5", "0.5", False),
        ("2.5e-4", "2.46e-04", True),
        ("2.5e-4", "2.6e-04", False),
    ],
)
def test_printed_numbers_cover_at_the_prose_precision(prose, printed, covered):
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"value {printed}\n")]
    assert (scan.printed_covers(prose, scan.printed_numbers(outputs)) is not None) is covered


def _outputs(cell_id: str) -> list:
    texts = {
        "check": "y = 6, y / 4 = 1.5000, ratio 0.8571\n",
        "other": "nothing numeric here\n",
    }
    if cell_id not in texts:
        return []
    return [nbformat.v4.new_output("stream", name="stdout", text=texts[cell_id])]


def _executed(tmp_path: Path, root: Path = FIXTURES) -> Path:
    nb = nbformat.read(root / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _outputs(cell.id)
    target = tmp_path / "executed" / NOTEBOOK
    target.parent.mkdir(parents=True)
    nbformat.write(nb, target)
    return tmp_path / "executed"


def _run(*args, root=FIXTURES):
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(root), *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        timeout=300,
    )
    return proc.returncode, proc.stdout


EXPECTED_UNCOVERED = [
    'notebooks/tiny.ipynb cell prose-numbers (§6.1.2 加倍 · Doubling): "0.33" in '
    '"…86 (printed above), y / 4 is 1.5, while 0.33 is printed nowhere;"',
    'notebooks/tiny.ipynb cell prose-numbers (§6.1.2 加倍 · Doubling): "1.2×" in '
    '"the energy ratio is 1.2× and 104 evaluations were made."',
    'notebooks/tiny.ipynb cell prose-numbers (§6.1.2 加倍 · Doubling): "104" in '
    '"the energy ratio is 1.2× and 104 evaluations were made."',
    # printed in the section above, not in its own
    'notebooks/tiny.ipynb cell sec-other (§其他 · Another section): "1.50" in '
    '"Here 1.50 is not covered: it is printed in the se…"',
]


def test_the_fixture_from_an_executed_copy(tmp_path):
    code, out = _run(NOTEBOOK, "--executed", _executed(tmp_path), "--list")
    lines = out.splitlines()
    problems = [line for line in lines if not line.startswith("covered: ")]
    assert problems == EXPECTED_UNCOVERED
    covered = "\n".join(lines)
    assert "\"0.86\" printed '0.8571'" in covered
    assert "\"1.5\" printed '1.5000'" in covered
    assert 'cell sec-double (§6.1.2 加倍 · Doubling): "4000" setting: points (a setting)' in covered
    assert "cell try-triple (§6.1.2 加倍 · Doubling): \"2.25\" Try it 'triple'" in covered
    assert code == 1


def test_the_tool_executes_a_notebook_itself():
    code, out = _run(NOTEBOOK)
    assert out.splitlines() == EXPECTED_UNCOVERED
    assert code == 1


def _copy_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "notebooks", root / "notebooks")
    shutil.copytree(FIXTURES / "tools", root / "tools")
    return root


def test_stale_settings_and_an_invalid_spec_are_reported(tmp_path):
    root = _copy_root(tmp_path)
    spec = root / "tools" / "mutants" / "notebooks" / "tiny.py"
    spec.write_text(
        spec.read_text().replace(
            '{"4000": "points (a setting)"}', '{"4000": "points", "5000": "gone"}'
        )
    )
    code, out = _run(NOTEBOOK, "--executed", _executed(tmp_path, root), root=root)
    assert (
        'cell sec-double: SETTINGS number "5000" does not occur in the cell (stale setting)' in out
    )
    spec.write_text(spec.read_text().replace('("10", "y")', '("11", "y")'))
    code, out = _run(NOTEBOOK, "--executed", tmp_path / "executed", root=root)
    assert (
        "invalid spec: tools/mutants/notebooks/tiny.py: TRY_ITS[1] 'x of four', expect 1: the quote '11' does not occur in the prompt cell 'try-four'"
        in out
    )
    assert code == 1


def test_numbers_covered_by_everything_exit_0(tmp_path):
    root = _copy_root(tmp_path)
    path = root / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.id not in ("prose-numbers", "sec-other", "other")]
    nbformat.write(nb, path)
    code, out = _run(NOTEBOOK, "--executed", _executed(tmp_path, root), root=root)
    assert (code, out) == (0, "")


def test_code_cells_over_the_line_limits(tmp_path):
    root = _copy_root(tmp_path)
    (root / "tools" / "mutants" / "notebooks" / "tiny.py").unlink()  # its edits would not fit
    path = root / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    lines = (26, 13, 13, 25, 1)  # median 13; blank lines are not counted
    nb.cells = [
        nbformat.v4.new_code_cell("\n\n".join(f"a_{k} = {k}" for k in range(n))) for n in lines
    ]
    for k, cell in enumerate(nb.cells):
        cell.id = f"code-{k}"
    nbformat.write(nb, path)
    code, out = _run(NOTEBOOK, "--executed", _executed(tmp_path, root), root=root)
    assert out.splitlines() == [
        "notebooks/tiny.ipynb cell code-0: 26 non-blank lines (at most 25)",
        "notebooks/tiny.ipynb: median code cell 13 non-blank lines (at most 12)",
    ]
    assert code == 1


def test_exercises_use_their_solutions_spec(tmp_path):
    root = tmp_path / "root"
    assert scan.spec_path("exercises/x.ipynb", root) == root / "tools/mutants/solutions/x.py"
    assert scan.spec_path("solutions/x.ipynb", root) == root / "tools/mutants/solutions/x.py"
    assert scan.spec_path("notebooks/x.ipynb", root) == root / "tools/mutants/notebooks/x.py"
    assert scan.spec_path("elsewhere/x.ipynb", root) is None
    assert scan.outputs_of("exercises/x.ipynb") == "solutions/x.ipynb"
    assert scan.outputs_of("solutions/x.ipynb") == "solutions/x.ipynb"


def test_an_exercise_is_checked_against_its_solutions_outputs(tmp_path):
    """exercises/X: its own prose, the outputs and spec of solutions/X (no executed exercise)."""
    root = tmp_path / "root"
    spec = (FIXTURES / "tools/mutants/notebooks/tiny.py").read_text()
    (root / "tools/mutants/solutions").mkdir(parents=True)
    (root / "tools/mutants/solutions/tiny.py").write_text(spec.replace("notebooks/", "solutions/"))
    (root / "solutions").mkdir()
    shutil.copy(FIXTURES / NOTEBOOK, root / "solutions/tiny.ipynb")
    exercise = nbformat.read(FIXTURES / NOTEBOOK, as_version=4)
    banner = nbformat.v4.new_markdown_cell("> Generated from the solution: do not edit.")
    banner.id = "generated-banner"
    exercise.cells.insert(0, banner)
    (root / "exercises").mkdir()
    nbformat.write(exercise, root / "exercises/tiny.ipynb")
    executed = tmp_path / "executed"
    (executed / "solutions").mkdir(parents=True)
    (tmp_path / "x").mkdir()
    shutil.copy(_executed(tmp_path / "x") / NOTEBOOK, executed / "solutions/tiny.ipynb")
    code, out = _run("exercises/tiny.ipynb", "--executed", executed, root=root)
    assert out.splitlines() == [
        line.replace("notebooks/", "exercises/") for line in EXPECTED_UNCOVERED
    ]
    assert code == 1
