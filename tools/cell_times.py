"""Measure each section notebook's cells on this machine and write the slow ones into TEACHING.md.

    python tools/cell_times.py            # run every section notebook, print the table
    python tools/cell_times.py --write    # also replace the table in TEACHING.md (make cell-times)

Each notebook runs as shipped in a fresh kernel (one torch thread); fmlib's cell clock
(``fm.runtime.cell_times``) gives every cell's CPU time at full speed, corrected for a busy
machine as the closing cell's budget is. A cell is *slow* from SLOW_S seconds on: in class, run it
before the session and leave it alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "TEACHING.md"
SLOW_S = 2.0
START, END = "<!-- cell-times:start -->", "<!-- cell-times:end -->"


def measure(path: Path, timeout_s: int = 900) -> list[dict]:
    """Run one notebook; returns its code cells with their heading and CPU s at full speed."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell(
        "import json as _json, fmlib as _fm\nprint(_json.dumps(_fm.runtime.cell_times()))"
    )
    nb.cells.append(probe)
    os.environ["OMP_NUM_THREADS"] = "1"
    NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    times = json.loads(nb.cells[-1].outputs[-1]["text"])
    rows, heading, seen_configure = [], "", False
    code_cells = []
    for cell in nb.cells[:-1]:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if re.match(r"#{2,3} ", line):
                    heading = line.lstrip("# ").strip()
        elif cell.cell_type == "code":
            if not seen_configure:
                seen_configure = "configure(" in cell.source
                if not seen_configure:
                    continue
            code_cells.append((cell, heading))
    for (cell, heading), seconds in zip(code_cells, times, strict=True):
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        rows.append(
            {"id": cell.get("id", ""), "heading": heading, "first line": first, "s": seconds}
        )
    return rows


def table(results: dict[str, list[dict]]) -> str:
    today = datetime.date.today().isoformat()
    out = [
        f"Measured {today} on {os.cpu_count()} cores ({platform.machine()}), CPU s at full speed:",
        "",
        "| notebook | total | slow cells (≥ 2 s): heading, first line, seconds |",
        "| --- | ---: | --- |",
    ]
    for name, rows in results.items():
        slow = sorted((r for r in rows if r["s"] >= SLOW_S), key=lambda r: -r["s"])
        cells = "<br>".join(
            f"*{r['heading']}* · `{r['first line'][:40]}` · **{r['s']:.1f} s**" for r in slow
        )
        total = sum(r["s"] for r in rows)
        out.append(f"| {name[:3].replace('_', '.')} | {total:.0f} s | {cells or '—'} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the table in TEACHING.md")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("6_*.ipynb"))
    results = {}
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr)
        results[path.name] = measure(path.resolve())
    text = table(results)
    print(text)
    if args.write:
        guide = TEACHING.read_text(encoding="utf-8")
        start, end = guide.index(START) + len(START), guide.index(END)
        TEACHING.write_text(guide[:start] + "\n" + text + "\n" + guide[end:], encoding="utf-8")
        print(f"wrote the table into {TEACHING.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
