"""Mutation runs: every check in a notebook (and in fmlib's tests) must be able to fail.

A spec is a plain Python module under ``tools/mutants/`` (the format is fixed in the repository's
contributor notes; an example: ``tools/mutants/solutions/6_2_optimal_transport.py``):

* **notebook specs** (``NOTEBOOK = "notebooks/....ipynb"``) hold ``MUTANTS`` (a plausible bug as a
  ``patch`` run before the notebook's first cell and/or ``edits`` of cells, and the ``caught_by``
  cell whose ``error`` (default ``AssertionError``) must be the notebook's first error),
  ``TRY_ITS`` (a Try-it prompt as edits, the cell to run to, and the numbers it quotes with the
  expression that computes each) and ``SETTINGS`` (prose numbers that are settings; read by
  ``tools/scan_notebooks.py``);
* **library specs** (no ``NOTEBOOK``; ``tools/mutants/fmlib.py``) hold ``MUTANTS`` with file
  ``edits`` and the pytest node ids (``tests``) of which at least one must fail.

A notebook mutant runs in a fresh kernel of the Python running this tool (cwd = the notebook's
folder, ``OMP_NUM_THREADS=1``, ``--root`` first on ``PYTHONPATH`` so that its fmlib is imported),
cell by cell, and stops at the first error. Results:

* ``caught by cell N (id)``: the first error is the named error, raised by the ``caught_by`` cell;
* ``caught by the wrong cell N (id, Error: first line)``: another cell or another error came first;
* ``survived``: the ``caught_by`` cell ran green (the run stops there; ``--full`` runs on to say
  whether a later cell would have failed).

``cell N`` is the N-th cell of the notebook counting markdown cells, from 1 (the injected patch
cell is not counted). A Try it is *reproduced* when every cell up to ``run_to`` runs green with its
edits and each expression rounds to its quote at the quote's written precision: decimals to as many
decimals as written (``0.40``: within 0.005), e-notation to as many significant figures as written
(``2.5e-4``: within 0.05e-4), integers exactly (``12%`` and ``3×`` within 0.5); ``,`` thousands
separators, a leading ``≈``/``~``, a trailing ``×``/``x`` are allowed; ``12%`` matches 12 or 0.12. A library mutant runs in a copy
of the repository (git's tracked and untracked-not-ignored files) with its edits applied:
``python -m pytest -x -q -m "not slow" -p no:cacheprovider <tests>``; exit status 1 is *caught*,
0 *survived*, anything else (usage or collection trouble) an *error*. Before the mutants, the
union of a library spec's tests runs once unmutated and must pass.

    python tools/mutate.py [--root DIR] [SPEC ...] [--only NAME] [--jobs N] [--table] [--full]

With no SPEC every ``tools/mutants/**/*.py`` runs. Exit status: 0 when every mutant is caught and
every Try it reproduced, 1 otherwise, 2 when a spec is invalid (it names the entry and the problem).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parents[1]
PATCH_ID = "mutant-patch"
VALUE_MARK = "FM-MUTATE-VALUE"
SPEC_KEYS = {"NOTEBOOK", "MUTANTS", "TRY_ITS", "SETTINGS"}
NB_MUTANT_KEYS = {"name", "patch", "edits", "caught_by", "error"}
LIB_MUTANT_KEYS = {"name", "edits", "tests"}
TRY_IT_KEYS = {"name", "prompt", "edits", "run_to", "expect", "patch"}


class SpecError(Exception):
    """A spec that does not match its notebook or the format; the message names the entry."""


# ---------------------------------------------------------------- numbers as prose writes them

NUMBER_RE = re.compile(r"[-−]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+−]?\d+)?")


@dataclass(frozen=True)
class Quote:
    """A number as written: its value and the half-width of the interval that rounds to it."""

    text: str
    value: float
    half_width: float  # 0 for integers: exact
    percent: bool = False

    def matches(self, x: float) -> bool:
        candidates = [x, 100 * x] if self.percent else [x]
        for c in candidates:
            if not math.isfinite(c):
                continue
            if self.half_width == 0:
                if c == self.value:
                    return True
            elif abs(c - self.value) <= self.half_width * (1 + 1e-9) + 1e-12 * abs(self.value):
                return True
        return False


def parse_quote(text: str) -> Quote:
    """``"0.40"``, ``"1.55×"``, ``"12%"``, ``"2.5e-4"``, ``"10,000"``, ``"≈ 0.7"`` -> a Quote."""
    s = text.strip()
    s = re.sub(r"^(≈|~|about)\s*", "", s)
    percent = s.endswith("%")
    ratio = bool(re.search(r"\s*(×|x)$", s))
    s = re.sub(r"\s*(%|×|x)$", "", s).strip()
    s = s.replace("−", "-")
    if not re.fullmatch(r"-?\d+(,\d{3})*(\.\d+)?([eE][-+]?\d+)?", s):
        raise ValueError(f"not a number as prose writes one: {text!r}")
    s = s.replace(",", "")
    value = float(s)
    mantissa, _, exponent = s.lower().partition("e")
    if exponent:
        digits = mantissa.lstrip("-").replace(".", "").lstrip("0") or "0"
        sig = len(digits)
        lead = math.floor(math.log10(abs(value))) if value else 0
        half = 0.5 * 10.0 ** (lead - sig + 1)
    elif "." in mantissa:
        half = 0.5 * 10.0 ** -len(mantissa.split(".")[1])
    else:
        half = 0.5 if percent or ratio else 0.0  # "12%", "3×" are rounded; bare integers exact
    return Quote(text, value, half, percent)


# ---------------------------------------------------------------- specs


@dataclass
class Spec:
    path: Path
    rel: str
    notebook: str | None
    mutants: list
    try_its: list
    settings: dict
    nb: object = None  # the notebook, for notebook specs


def load_module(path: Path):
    """Import a spec by file name (spec files start with a digit, so not importable by name)."""
    name = "fm_spec_" + re.sub(r"\W", "_", str(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 (a broken spec is reported, not raised)
        raise SpecError(f"{path}: cannot import: {type(exc).__name__}: {exc}") from exc
    return module


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _check_keys(where: str, entry, allowed: set, required: set) -> None:
    if not isinstance(entry, dict):
        raise SpecError(f"{where}: must be a dict, not {type(entry).__name__}")
    unknown = set(entry) - allowed
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = required - set(entry)
    if missing:
        raise SpecError(f"{where}: missing key(s) {sorted(missing)}")


def _cells_by_id(nb) -> dict:
    return {cell.get("id"): cell for cell in nb.cells}


def _check_cell(where: str, cells: dict, cell_id, kind: str | None = None) -> None:
    if not isinstance(cell_id, str) or cell_id not in cells:
        raise SpecError(f"{where}: no cell with id {cell_id!r} in the notebook")
    if kind and cells[cell_id].cell_type != kind:
        raise SpecError(
            f"{where}: cell {cell_id!r} is a {cells[cell_id].cell_type} cell, not {kind}"
        )


def _check_edits(where: str, edits, source_of) -> None:
    if not isinstance(edits, (list, tuple)) or not edits:
        raise SpecError(f"{where}: 'edits' must be a non-empty list of (target, old, new)")
    for k, edit in enumerate(edits):
        here = f"{where}, edit {k + 1}"
        if not (
            isinstance(edit, (list, tuple))
            and len(edit) == 3
            and all(isinstance(e, str) for e in edit)
        ):
            raise SpecError(f"{here}: an edit is a triple of strings (target, old text, new text)")
        target, old, new = edit
        source = source_of(here, target)
        count = source.count(old) if old else 0
        if count != 1:
            raise SpecError(
                f"{here}: the old text {old[:60]!r} occurs {count} times in {target!r}, not exactly once"
            )
        if old == new:
            raise SpecError(f"{here}: the new text equals the old one")


def load_spec(path: Path, root: Path = DEFAULT_ROOT) -> Spec:
    """Load and validate one spec; raise SpecError naming the entry at the first problem."""
    import nbformat

    path = Path(path)
    rel = _rel(path, root)
    module = load_module(path)
    public = {k for k in vars(module) if k.isupper() and not k.startswith("_")}
    unknown = public - SPEC_KEYS
    if unknown:
        raise SpecError(
            f"{rel}: unknown name(s) {sorted(unknown)}; a spec defines {sorted(SPEC_KEYS)}"
        )
    notebook = getattr(module, "NOTEBOOK", None)
    mutants = list(getattr(module, "MUTANTS", []))
    try_its = list(getattr(module, "TRY_ITS", []))
    settings = dict(getattr(module, "SETTINGS", {}))
    spec = Spec(path, rel, notebook, mutants, try_its, settings)
    names = [m.get("name") if isinstance(m, dict) else None for m in mutants + try_its]
    dupes = sorted({n for n in names if n is not None and names.count(n) > 1})
    if dupes:
        raise SpecError(f"{rel}: names used twice: {dupes}")
    if notebook is None:
        if try_its or settings:
            raise SpecError(f"{rel}: TRY_ITS and SETTINGS need a NOTEBOOK")
        for k, m in enumerate(mutants):
            where = f"{rel}: MUTANTS[{k}] {m.get('name', '?') if isinstance(m, dict) else ''!r}"
            _check_keys(where, m, LIB_MUTANT_KEYS, LIB_MUTANT_KEYS)

            def file_source(here, target):
                file = root / target
                if not file.is_file():
                    raise SpecError(f"{here}: no file {target!r} under {root}")
                return file.read_text()

            _check_edits(where, m["edits"], file_source)
            tests = m["tests"]
            if (
                not isinstance(tests, (list, tuple))
                or not tests
                or not all(isinstance(t, str) for t in tests)
            ):
                raise SpecError(f"{where}: 'tests' must be a non-empty list of pytest node ids")
            for t in tests:
                if not (root / t.split("::")[0]).exists():
                    raise SpecError(f"{where}: no test file for {t!r}")
        return spec

    nb_path = root / notebook
    if not nb_path.is_file():
        raise SpecError(f"{rel}: NOTEBOOK {notebook!r} does not exist under {root}")
    nb = nbformat.read(nb_path, as_version=4)
    spec.nb = nb
    cells = _cells_by_id(nb)

    def cell_source(here, target):
        _check_cell(here, cells, target)
        return cells[target].source

    for k, m in enumerate(mutants):
        where = f"{rel}: MUTANTS[{k}] {m.get('name', '?') if isinstance(m, dict) else ''!r}"
        _check_keys(where, m, NB_MUTANT_KEYS, {"name", "caught_by"})
        if "patch" not in m and "edits" not in m:
            raise SpecError(f"{where}: needs a 'patch', 'edits' or both")
        if "patch" in m:
            if not isinstance(m["patch"], str) or not m["patch"].strip():
                raise SpecError(f"{where}: 'patch' must be Python source")
            try:
                compile(m["patch"], where, "exec")
            except SyntaxError as exc:
                raise SpecError(f"{where}: the patch does not compile: {exc}") from exc
        if "edits" in m:
            _check_edits(where, m["edits"], cell_source)
        _check_cell(where + " caught_by", cells, m["caught_by"], "code")
        if not isinstance(m.get("error", "AssertionError"), str):
            raise SpecError(f"{where}: 'error' is the name of an exception, a string")
    for k, t in enumerate(try_its):
        where = f"{rel}: TRY_ITS[{k}] {t.get('name', '?') if isinstance(t, dict) else ''!r}"
        _check_keys(where, t, TRY_IT_KEYS, {"name", "prompt", "edits", "run_to", "expect"})
        _check_cell(where + " prompt", cells, t["prompt"], "markdown")
        _check_cell(where + " run_to", cells, t["run_to"], "code")
        _check_edits(where, t["edits"], cell_source)
        order = [c.get("id") for c in nb.cells]
        for edit in t["edits"]:
            if order.index(edit[0]) > order.index(t["run_to"]):
                raise SpecError(f"{where}: edits cell {edit[0]!r}, which comes after run_to")
        expect = t["expect"]
        if not isinstance(expect, (list, tuple)) or not expect:
            raise SpecError(f"{where}: 'expect' must be a non-empty list of (quote, expression)")
        for j, pair in enumerate(expect):
            if not (
                isinstance(pair, (list, tuple))
                and len(pair) == 2
                and all(isinstance(p, str) for p in pair)
            ):
                raise SpecError(f"{where}, expect {j + 1}: a pair of strings (quote, expression)")
            quote, expr = pair
            try:
                parse_quote(quote)
            except ValueError as exc:
                raise SpecError(f"{where}, expect {j + 1}: {exc}") from exc
            if quote not in cells[t["prompt"]].source:
                raise SpecError(
                    f"{where}, expect {j + 1}: the quote {quote!r} does not occur in the prompt cell {t['prompt']!r}"
                )
            try:
                compile(expr, where, "eval")
            except SyntaxError as exc:
                raise SpecError(
                    f"{where}, expect {j + 1}: the expression does not compile: {exc}"
                ) from exc
    for cell_id, numbers in settings.items():
        where = f"{rel}: SETTINGS[{cell_id!r}]"
        _check_cell(where, cells, cell_id, "markdown")
        if not isinstance(numbers, dict) or not numbers:
            raise SpecError(f"{where}: must be a non-empty dict number -> reason")
        for number, reason in numbers.items():
            if not isinstance(number, str) or not isinstance(reason, str) or not reason.strip():
                raise SpecError(f"{where}: {number!r}: number and reason are strings")
            try:
                parse_quote(number)
            except ValueError as exc:
                raise SpecError(f"{where}: {exc}") from exc
    return spec


def find_specs(root: Path) -> list[Path]:
    base = root / "tools" / "mutants"
    return sorted(p for p in base.rglob("*.py") if not p.name.startswith("_"))


# ---------------------------------------------------------------- running notebooks


@dataclass
class Result:
    spec: str
    notebook: str
    name: str
    kind: str  # "mutant", "try-it", "library"
    ok: bool
    result: str
    catching: str = ""
    seconds: float = 0.0
    error: bool = field(default=False)


def _kernel_manager():
    import ipykernel.kernelspec
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    class CurrentPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(
                resource_dir=ipykernel.kernelspec.RESOURCES,
                **ipykernel.kernelspec.get_kernel_dict(),  # argv: [sys.executable, -m, ipykernel_launcher, ...]
            )

    return KernelManager(kernel_name="fm-current-python", kernel_spec_manager=CurrentPython())


def kernel_env(root: Path) -> None:
    """The environment kernels inherit: one BLAS thread, the root's fmlib first on sys.path."""
    os.environ["OMP_NUM_THREADS"] = "1"
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if not parts or Path(parts[0]).resolve() != root.resolve():
        parts.insert(0, str(root))
    os.environ["PYTHONPATH"] = os.pathsep.join(parts)


def _apply_cell_edits(nb, edits) -> None:
    cells = _cells_by_id(nb)
    for cell_id, old, new in edits:
        cells[cell_id].source = cells[cell_id].source.replace(old, new, 1)


def _first_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return text.splitlines()[0][:160] if text else ""


@dataclass
class Run:
    """What running a notebook's cells gave: the first error, if any."""

    failed_index: int | None = None  # index into the original notebook's cells
    ename: str = ""
    evalue: str = ""
    stopped_after: str = ""
    values: list = field(default_factory=list)


def run_notebook(
    nb_path: Path,
    nb,
    patch: str | None,
    stop_after: str | None,
    evaluate: list[str] = (),
    timeout: int = 600,
) -> Run:
    """Execute nb (already edited) in a fresh kernel, the patch first; stop at the first error,
    or after the cell ``stop_after`` (then evaluate each expression of ``evaluate``)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = copy.deepcopy(nb)
    originals = list(nb.cells)
    cells = list(originals)
    if patch:
        cell = nbformat.v4.new_code_cell(patch)
        cell.id = PATCH_ID
        cells.insert(0, cell)
    nb.cells = cells
    client = NotebookClient(
        nb,
        km=_kernel_manager(),
        timeout=timeout,
        allow_errors=False,
        resources={"metadata": {"path": str(nb_path.parent)}},
    )
    run = Run()
    offset = 1 if patch else 0

    def execute(index: int) -> bool:
        try:
            client.execute_cell(nb.cells[index], index)
            return True
        except CellExecutionError as exc:
            run.ename, run.evalue = exc.ename, _first_line(exc.evalue)
        except CellTimeoutError as exc:
            run.ename, run.evalue = "Timeout", _first_line(exc)
        except DeadKernelError as exc:
            run.ename, run.evalue = "DeadKernel", _first_line(exc)
        run.failed_index = index - offset  # -1: the patch itself
        return False

    # nbclient shuts down only a kernel it created itself: this one is ours to stop, or every
    # mutant would leave a kernel of several hundred MiB behind until the run ends
    try:
        with client.setup_kernel():
            return _execute_all(client, nb, run, execute, stop_after, evaluate)
    finally:
        if client.km is not None and client.km.has_kernel:
            client.km.shutdown_kernel(now=True)


def _execute_all(client, nb, run, execute, stop_after, evaluate) -> Run:
    """Run the cells in order until the first error or ``stop_after``, then the expressions."""
    import nbformat

    for index, cell in enumerate(list(nb.cells)):
        if cell.cell_type != "code":
            continue
        if not execute(index):
            return run
        if stop_after is not None and cell.get("id") == stop_after:
            run.stopped_after = stop_after
            break
    for k, expr in enumerate(evaluate):
        source = f"print({VALUE_MARK!r}, repr(float({expr})))"
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"mutate-expect-{k}"
        nb.cells.append(cell)
        index = len(nb.cells) - 1
        if not execute(index):
            run.failed_index = None
            run.values.append(f"{run.ename}: {run.evalue}")
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        match = re.search(re.escape(VALUE_MARK) + r" (\S+)", text)
        run.values.append(float(match.group(1)) if match else f"no value printed: {text[:80]!r}")
    return run


def _describe(nb, index: int) -> str:
    if index < 0:
        return "the patch"
    return f"cell {index + 1} ({nb.cells[index].get('id')})"


def run_mutant(spec: Spec, root: Path, m: dict, full: bool = False, timeout: int = 600) -> Result:
    start = time.perf_counter()
    nb = copy.deepcopy(spec.nb)
    _apply_cell_edits(nb, m.get("edits", []))
    error = m.get("error", "AssertionError")
    run = run_notebook(
        root / spec.notebook, nb, m.get("patch"), None if full else m["caught_by"], timeout=timeout
    )
    res = Result(spec.rel, spec.notebook, m["name"], "mutant", False, "", seconds=0.0)
    if run.failed_index is None:
        res.result = "survived" + ("" if full else f" ({m['caught_by']} ran green)")
    else:
        where = _describe(spec.nb, run.failed_index)
        failed_id = spec.nb.cells[run.failed_index].get("id") if run.failed_index >= 0 else PATCH_ID
        if failed_id == m["caught_by"] and run.ename == error:
            res.ok, res.result, res.catching = True, "caught", where
        else:
            res.result = f"caught by the wrong cell: {where}, {run.ename}: {run.evalue}"
            res.catching = where
    res.seconds = time.perf_counter() - start
    return res


def run_try_it(spec: Spec, root: Path, t: dict, timeout: int = 600) -> Result:
    start = time.perf_counter()
    nb = copy.deepcopy(spec.nb)
    _apply_cell_edits(nb, t["edits"])
    quotes = [q for q, _ in t["expect"]]
    run = run_notebook(
        root / spec.notebook,
        nb,
        t.get("patch"),
        t["run_to"],
        [e for _, e in t["expect"]],
        timeout=timeout,
    )
    res = Result(spec.rel, spec.notebook, "Try it: " + t["name"], "try-it", False, "", t["prompt"])
    if run.failed_index is not None:
        res.result = f"error in {_describe(spec.nb, run.failed_index)}: {run.ename}: {run.evalue}"
        res.error = True
    else:
        parts, ok = [], True
        for quote, value in zip(quotes, run.values, strict=True):
            if isinstance(value, float):
                good = parse_quote(quote).matches(value)
                parts.append(f"{quote} {'=' if good else '!='} {value:.6g}")
            else:
                good = False
                parts.append(f"{quote}: {value}")
            ok &= good
        res.ok = ok
        res.result = ("reproduced: " if ok else "mismatch: ") + "; ".join(parts)
    res.seconds = time.perf_counter() - start
    return res


# ---------------------------------------------------------------- library mutants


def copy_repo(root: Path, dest: Path) -> None:
    """Copy the repository's tracked and untracked-not-ignored files (never .venv or build/)."""
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = None
    if files is None:
        shutil.copytree(
            root,
            dest,
            dirs_exist_ok=True,
            symlinks=True,
            ignore=shutil.ignore_patterns(".venv", "build", ".git", "__pycache__"),
        )
        return
    for f in files:
        if f.split("/")[0] in {".venv", "build", ".git"}:
            continue
        src = root / f
        if not src.is_file() or src.is_symlink():
            continue
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def run_pytest(repo: Path, tests: list[str], timeout: int) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(repo), OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-m",
        "not slow",
        "-p",
        "no:cacheprovider",
        *tests,
    ]
    try:
        proc = subprocess.run(
            cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return -1, "timeout"
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return proc.returncode, lines[-1] if lines else ""


def run_library_mutant(spec: Spec, root: Path, m: dict, timeout: int = 900) -> Result:
    start = time.perf_counter()
    res = Result(spec.rel, "fmlib", m["name"], "library", False, "")
    with tempfile.TemporaryDirectory(prefix="fm-mutant-") as tmp:
        repo = Path(tmp)
        copy_repo(root, repo)
        for target, old, new in m["edits"]:
            file = repo / target
            file.write_text(file.read_text().replace(old, new, 1))
        code, last = run_pytest(repo, list(m["tests"]), timeout)
    if code == 1:
        res.ok, res.result, res.catching = True, "caught", ", ".join(m["tests"])
    elif code == 0:
        res.result = "survived"
    else:
        res.result, res.error = f"error: pytest exit status {code}: {last}", True
    res.seconds = time.perf_counter() - start
    return res


def library_baseline(spec: Spec, root: Path, timeout: int = 900) -> Result | None:
    tests = list(dict.fromkeys(t for m in spec.mutants for t in m["tests"]))
    if not tests:
        return None
    with tempfile.TemporaryDirectory(prefix="fm-baseline-") as tmp:
        copy_repo(root, Path(tmp))
        code, last = run_pytest(Path(tmp), tests, timeout)
    if code == 0:
        return None
    return Result(
        spec.rel,
        "fmlib",
        "(baseline: the tests unmutated)",
        "library",
        False,
        f"error: the unmutated tests do not pass (exit status {code}: {last})",
        error=True,
    )


# ---------------------------------------------------------------- the command line


def _job(args):
    kind, spec_path, root, entry_index, full, timeout = args
    root = Path(root)
    kernel_env(root)
    spec = load_spec(Path(spec_path), root)
    try:
        if kind == "mutant":
            return run_mutant(spec, root, spec.mutants[entry_index], full, timeout)
        if kind == "try-it":
            return run_try_it(spec, root, spec.try_its[entry_index], timeout)
        if kind == "library":
            return run_library_mutant(spec, root, spec.mutants[entry_index], timeout)
        return library_baseline(spec, root, timeout)
    except Exception as exc:  # noqa: BLE001 (one broken run must not hide the others)
        entry = (
            (spec.try_its if kind == "try-it" else spec.mutants or [{}])[entry_index]
            if kind != "baseline"
            else {}
        )
        return Result(
            spec.rel,
            spec.notebook or "fmlib",
            entry.get("name", kind),
            kind,
            False,
            f"error: {type(exc).__name__}: {_first_line(exc)}",
            error=True,
        )


def format_line(r: Result) -> str:
    where = f" by {r.catching}" if r.ok and r.kind == "mutant" else ""
    mark = "ok  " if r.ok else "FAIL"
    return f"{mark} {r.spec}: {r.name}: {r.result}{where} [{r.seconds:.0f} s]"


def table(results: list[Result]) -> str:
    lines = ["| notebook | mutant | result | catching cell |", "| --- | --- | --- | --- |"]
    for r in results:
        name = r.name.replace("|", "\\|")
        result = r.result.split(":")[0] if r.ok else r.result.replace("|", "\\|")
        catching = r.catching.replace("|", "\\|") if r.kind != "try-it" else f"prompt {r.catching}"
        lines.append(f"| `{r.notebook}` | {name} | {result} | {catching} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "specs", nargs="*", type=Path, help="spec files (default: tools/mutants/**/*.py)"
    )
    parser.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help="repository root (default: this tool's)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only the mutant / Try it of this name (repeatable)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="mutants run at once, each in its own process"
    )
    parser.add_argument(
        "--table", action="store_true", help="print a Markdown table of the results"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="run a surviving mutant's notebook to the end (to name a later failing cell)",
    )
    parser.add_argument(
        "--timeout", type=int, default=600, help="seconds per cell (per pytest run)"
    )
    parser.add_argument("--check", action="store_true", help="only validate the specs; run nothing")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    paths = []
    for p in args.specs or find_specs(root):
        p = Path(p)
        if not p.is_absolute() and not p.exists():
            p = root / p
        paths.append(p.resolve())
    invalid, jobs, specs = False, [], []
    for p in paths:
        try:
            spec = load_spec(p, root)
        except SpecError as exc:
            print(f"invalid spec: {exc}", flush=True)
            invalid = True
            continue
        specs.append(spec)
        wanted = lambda e: not args.only or e["name"] in args.only  # noqa: E731
        if spec.notebook is None:
            if any(wanted(m) for m in spec.mutants):
                jobs.append(("baseline", str(p), str(root), 0, False, args.timeout))
            jobs += [
                ("library", str(p), str(root), k, False, args.timeout)
                for k, m in enumerate(spec.mutants)
                if wanted(m)
            ]
        else:
            jobs += [
                ("mutant", str(p), str(root), k, args.full, args.timeout)
                for k, m in enumerate(spec.mutants)
                if wanted(m)
            ]
            jobs += [
                ("try-it", str(p), str(root), k, False, args.timeout)
                for k, t in enumerate(spec.try_its)
                if wanted(t)
            ]
    if args.only:
        known = {e["name"] for s in specs for e in s.mutants + s.try_its}
        for name in set(args.only) - known:
            print(f"invalid: no mutant or Try it named {name!r}", flush=True)
            invalid = True
    if args.check:
        print(f"{len(specs)} spec(s) valid, {sum(j[0] != 'baseline' for j in jobs)} run(s)")
        return 2 if invalid else 0
    kernel_env(root)
    results: list[Result] = []
    if args.jobs > 1 and len(jobs) > 1:
        with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for r in pool.map(_job, jobs):
                if r is not None:
                    print(format_line(r), flush=True)
                    results.append(r)
    else:
        for job in jobs:
            r = _job(job)
            if r is not None:
                print(format_line(r), flush=True)
                results.append(r)
    failed = [r for r in results if not r.ok]
    print(
        f"{len(results) - len(failed)} of {len(results)} ok"
        + (f"; not ok: {', '.join(r.name for r in failed)}" if failed else ""),
        flush=True,
    )
    if args.table:
        print()
        print(table(results))
    if invalid:
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
