"""tools/mutate.py on tiny fixtures (tests/fixtures/tools/): every result it can report, every
way a spec can rot, and the precision rule of Try-it quotes. A few kernels: seconds."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "tools"
TOOL = ROOT / "tools" / "mutate.py"


def _tool():
    spec = importlib.util.spec_from_file_location("fm_tool_mutate", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


mutate = _tool()


def _lines(out: str) -> dict:
    """mutant name -> its result line."""
    lines = {}
    for line in out.splitlines():
        if line.startswith(("ok ", "FAIL")):
            parts = line.split(": ")  # mark spec: [Try it: ]name: result
            lines[parts[2] if parts[1] == "Try it" else parts[1]] = line
    return lines


def _run(*args, root=FIXTURES, **env_vars):
    env = dict(os.environ, OMP_NUM_THREADS="1", **env_vars)
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(root), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return proc.returncode, proc.stdout


@pytest.mark.parametrize(
    ("quote", "value", "ok"),
    [
        ("0.40", 0.404, True),
        ("0.40", 0.396, True),
        ("0.40", 0.406, False),
        ("0.4", 0.44, True),
        ("0.4", 0.46, False),
        ("104", 104.0, True),
        ("104", 104.2, False),  # integers exactly
        ("2.5e-4", 2.54e-4, True),
        ("2.5e-4", 2.56e-4, False),
        ("1e-3", 1.4e-3, True),
        ("1e-3", 1.6e-3, False),
        ("1.55×", 1.553, True),
        ("1.55x", 1.56, False),
        ("12%", 0.121, True),
        ("12%", 12.4, True),
        ("12%", 0.126, False),
        ("3×", 3.4, True),
        ("3×", 3.6, False),
        ("10,000", 10000, True),
        ("−0.50", -0.5, True),
        ("−0.50", 0.5, False),
        ("≈ 0.7", 0.73, True),
    ],
)
def test_quote_matches_at_the_written_precision(quote, value, ok):
    assert mutate.parse_quote(quote).matches(value) is ok


@pytest.mark.parametrize("text", ["about", "0.4.1", "1/2", ""])
def test_a_quote_that_is_no_number_is_refused(text):
    with pytest.raises(ValueError):
        mutate.parse_quote(text)


def test_every_result_on_the_fixture_notebook():
    code, out = _run("--jobs", "2", "--table")
    lines = _lines(out)
    assert lines["factor off by one"].startswith("ok ")
    assert "caught by cell 5 (check)" in lines["factor off by one"]
    assert lines["operands swapped"].startswith("FAIL") and "survived" in lines["operands swapped"]
    # the right cell, the wrong error
    assert "wrong cell: cell 5 (check), TypeError" in lines["y is None"]
    # an earlier cell fails first
    assert "wrong cell: cell 4 (double), TypeError" in lines["x is None"]
    assert lines["triple"].startswith("ok ") and "reproduced: 9 = 9; 2.25 = 2.25" in lines["triple"]
    assert lines["x of four"].startswith("FAIL") and "mismatch: 10 != 8" in lines["x of four"]
    assert "| `notebooks/tiny.ipynb` | factor off by one | caught | cell 5 (check) |" in out
    assert code == 1  # something survived


def test_only_runs_one_and_exits_0_when_it_is_caught():
    code, out = _run("tools/mutants/notebooks/tiny.py", "--only", "factor off by one")
    assert code == 0, out
    assert "1 of 1 ok" in out


def test_full_names_the_later_cell_that_fails():
    """A mutant whose caught_by cell runs green survives; --full runs on and names the cell
    that does fail."""
    spec = mutate.load_spec(FIXTURES / "tools" / "mutants" / "notebooks" / "tiny.py", FIXTURES)
    mutant = {
        "name": "late",
        "edits": [("setup", "factor = 2", "factor = 3")],
        "caught_by": "double",
    }
    mutate.kernel_env(FIXTURES)
    early = mutate.run_mutant(spec, FIXTURES, mutant)
    assert not early.ok and early.result == "survived (double ran green)"
    late = mutate.run_mutant(spec, FIXTURES, mutant, full=True)
    assert not late.ok and late.result.startswith(
        "caught by the wrong cell: cell 5 (check), AssertionError: 9"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unknown_key", "MUTANTS[0] 'typo in a key': unknown key(s) ['caugth_by']"),
        ("missing_cell", "'renamed cell' caught_by: no cell with id 'no-such-cell'"),
        ("edit_absent", "'stale edit', edit 1: the old text 'x = 30' occurs 0 times in 'setup'"),
        ("edit_twice", "'ambiguous edit', edit 1: the old text 'y' occurs 7 times in 'check'"),
        (
            "quote_absent",
            "'stale quote', expect 1: the quote '8' does not occur in the prompt cell 'try-four'",
        ),
        ("unknown_name", "unknown name(s) ['MUTANT']"),
    ],
)
def test_a_spec_that_no_longer_fits_its_notebook_is_an_error(name, message):
    with pytest.raises(mutate.SpecError) as info:
        mutate.load_spec(FIXTURES / "bad" / f"{name}.py", FIXTURES)
    assert message in str(info.value)


def test_an_invalid_spec_exits_2_and_says_why():
    code, out = _run(FIXTURES / "bad" / "edit_absent.py")
    assert code == 2
    assert "invalid spec: bad/edit_absent.py: MUTANTS[0] 'stale edit'" in out


def test_library_mutants_caught_survived_and_error():
    lib = FIXTURES / "lib"
    # the fixture's tests need no plugins: skip loading them, a second per pytest run
    code, out = _run("--jobs", "2", root=lib, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    lines = _lines(out)
    assert lines["minus for plus"].startswith("ok ") and "caught" in lines["minus for plus"]
    assert "survived" in lines["operands swapped"]
    assert "error: pytest exit status 4" in lines["no such test"]  # not counted as caught
    assert code == 1
    with pytest.raises(mutate.SpecError, match="the old text 'a / b' occurs 0 times in 'mod.py'"):
        mutate.load_spec(FIXTURES / "bad" / "library_edit_absent.py", lib)


def test_the_copy_holds_the_repository_but_no_venv(tmp_path):
    mutate.copy_repo(ROOT, tmp_path)
    assert (tmp_path / "tools" / "mutate.py").read_text() == TOOL.read_text()
    assert not (tmp_path / ".venv").exists() and not (tmp_path / "build").exists()


def test_kernels_import_the_roots_fmlib(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    mutate.kernel_env(FIXTURES)
    assert os.environ["PYTHONPATH"].split(os.pathsep) == [str(FIXTURES), "/elsewhere"]
    assert os.environ["OMP_NUM_THREADS"] == "1"
