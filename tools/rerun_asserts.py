"""Re-run each assert cell after a full run: a check must hold when a student runs it again.

A student runs a notebook top to bottom, then goes back and re-runs one cell with an ``assert``.
If that cell reads a name that a later cell rebinds (``x_0``, ``t``, ...), it now checks the
later cell's values and fails, or passes for the wrong reason. This tool finds such cells:

1. it executes the notebook with nbclient in one kernel of the Python running it (cwd = the
   notebook's folder, ``OMP_NUM_THREADS=1``, ``--root`` first on ``PYTHONPATH``, as
   ``tools/mutate.py`` does); a cell that fails in this first run is reported and ends the run;
2. it saves the names of the kernel's namespace, then re-executes, in the same kernel, every code
   cell whose source contains ``assert`` (``torch.testing.assert_close`` included), in order.
   Before each one the names are reset to the bindings of the full run (a shallow copy: an
   object a re-run changes in place stays changed), so that each cell is re-run as the student
   re-runs it, after the whole notebook, and one re-run cannot hide or cause another's failure.

Each cell that fails on its re-run is printed with its number (from 1, markdown cells counted),
its id and its error; then a summary line per notebook. Notebooks run one at a time.

    python tools/rerun_asserts.py NOTEBOOK [NOTEBOOK ...] [--root DIR] [--timeout S]

Exit status: 0 when every assert cell of every notebook passes again, 1 otherwise.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutate  # noqa: E402 (the kernel of the current Python and its environment are shared)

SAVED = "__fm_rerun_saved__"
SNAPSHOT = f"get_ipython().user_ns[{SAVED!r}] = dict(get_ipython().user_ns)"
_RESTORE_BODY = f"""
ns = ip.user_ns
saved = ns[{SAVED!r}]
for name in [n for n in ns if n not in saved and n != {SAVED!r}]:
    del ns[name]
ns.update(saved)
"""
RESTORE = f"exec({_RESTORE_BODY!r}, {{'ip': get_ipython()}})"


@dataclass
class Failure:
    number: int  # the cell's number, from 1, markdown cells counted
    cell_id: str
    error: str  # "AssertionError: first line of the message"
    first_run: bool = False  # failed in the full run, before any re-run

    def line(self, rel: str) -> str:
        when = "fails in the full run" if self.first_run else "fails when re-run"
        return f"{rel}: cell {self.number} ({self.cell_id}) {when}: {self.error}"


@dataclass
class Outcome:
    rerun: int = 0  # assert cells re-run
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0


def assert_cells(nb) -> list[int]:
    """Indices of the code cells whose source contains ``assert``."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "assert" in c.source]


def _error(exc) -> str:
    from nbclient.exceptions import CellExecutionError

    if isinstance(exc, CellExecutionError):
        return f"{exc.ename}: {mutate._first_line(exc.evalue)}" if exc.evalue else exc.ename
    return f"{type(exc).__name__}: {mutate._first_line(exc)}"


def check(path: Path, root: Path, timeout: int = 600, progress: bool = True) -> Outcome:
    """Run the notebook at path, then re-run its assert cells; what failed."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from tqdm.auto import tqdm

    mutate.kernel_env(root)
    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    work = copy.deepcopy(nb)
    work.cells = []  # what runs: copies of the notebook's cells, and the helpers
    client = NotebookClient(
        work,
        km=mutate._kernel_manager(),
        timeout=timeout,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    outcome = Outcome()
    errors = (CellExecutionError, CellTimeoutError, DeadKernelError)

    def helper(source: str) -> None:
        cell = nbformat.v4.new_code_cell(source)
        work.cells.append(cell)
        client.execute_cell(cell, len(work.cells) - 1)

    def run(index: int) -> str | None:
        """Execute a fresh copy of the notebook's cell index; its error, or None."""
        cell = copy.deepcopy(nb.cells[index])
        work.cells.append(cell)
        try:
            client.execute_cell(cell, len(work.cells) - 1)
        except errors as exc:
            return _error(exc)
        return None

    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    targets = assert_cells(nb)
    bar = tqdm(total=len(code) + len(targets), desc=path.name, disable=not progress, leave=False)
    try:
        with client.setup_kernel():
            for i in code:
                error = run(i)
                bar.update()
                if error is not None:
                    cell_id = nb.cells[i].get("id", "")
                    outcome.failures.append(Failure(i + 1, cell_id, error, first_run=True))
                    return outcome
            helper(SNAPSHOT)
            for i in targets:
                helper(RESTORE)
                error = run(i)
                bar.update()
                outcome.rerun += 1
                if error is not None:
                    outcome.failures.append(Failure(i + 1, nb.cells[i].get("id", ""), error))
    finally:
        bar.close()
        outcome.seconds = time.perf_counter() - start
        # nbclient shuts down only a kernel it started itself; this one is ours to stop
        if client.km is not None and client.km.has_kernel:
            client.km.shutdown_kernel(now=True)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebooks, run one at a time")
    parser.add_argument(
        "--root", type=Path, default=mutate.DEFAULT_ROOT, help="repository root (its fmlib)"
    )
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    failed = 0
    for path in args.notebooks:
        path = path.resolve()
        rel = mutate._rel(path, root)
        outcome = check(path, root, timeout=args.timeout, progress=not args.no_progress)
        for f in outcome.failures:
            print(f.line(rel), flush=True)
        first_run = any(f.first_run for f in outcome.failures)
        print(
            f"{rel}: {outcome.rerun} assert cells re-run after the full run, "
            + ("the full run failed" if first_run else f"{len(outcome.failures)} failed")
            + f" ({outcome.seconds:.0f} s)",
            flush=True,
        )
        failed += bool(outcome.failures)
    if len(args.notebooks) > 1:
        print(f"{len(args.notebooks) - failed} of {len(args.notebooks)} notebooks ok", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
